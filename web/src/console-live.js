// A need's page, live (app/console/live.py): the socket says that something happened to
// this need; the page then reads itself again and swaps its parts (summary, actions,
// candidates, timeline), each unless the caseworker is using it (focus inside). The newest
// timeline entry is announced through the status region. Without JavaScript the page is
// the same, current when loaded.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

const status = document.getElementById("live");
const REFUSED = 1008; // no session, another origin, or not this person's need
const MAX_WAIT_MS = 30000;

let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const answer = await fetch(window.location.pathname, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!answer.ok || answer.redirected) {
        status.textContent = "Live updates stopped: reload the page to see the latest.";
        return;
      }
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      for (const part of document.querySelectorAll("[data-live]")) {
        const next = fresh.querySelector(`[data-live="${part.dataset.live}"]`);
        if (next && !part.contains(document.activeElement)) {
          const adopted = document.adoptNode(next);
          part.replaceWith(adopted);
          initAll(adopted);
        }
      }
      const newest = document.querySelector("#timeline li p");
      if (newest) {
        status.textContent = `Updated: ${newest.textContent.trim()}`;
      }
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

function listen(attempt, missed) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${window.location.host}/console/needs/${status.dataset.need}/live`;
  const socket = new WebSocket(url);
  let opened = false;
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "synced") {
      opened = true;
      status.dataset.listening = "true";
      if (missed) {
        refresh(); // what happened while the socket was down
      }
    } else if (frame.type === "event") {
      refresh();
    }
  });
  socket.addEventListener("close", (closed) => {
    delete status.dataset.listening;
    if (closed.code === REFUSED) {
      status.textContent = "Live updates stopped: reload the page to see the latest.";
      return;
    }
    const next = opened ? 0 : attempt + 1;
    const wait = Math.min(MAX_WAIT_MS, 1000 * 2 ** next) * (0.5 + Math.random() / 2);
    window.setTimeout(() => listen(next, true), wait);
  });
}

if (status && "WebSocket" in window) {
  listen(0, false);
}
