// A need's page, live (app/console/live.py): the socket says that something happened to
// this need; the page then reads itself again and swaps its parts (summary, actions,
// candidates, timeline), each unless the caseworker is using it (focus inside). The newest
// timeline entry is announced through the status region. The socket resumes from the last
// event the page knew of (rendered into `data-since`, then each event's id), so what
// happened while it was connecting or away is replayed. Without JavaScript the page is the
// same, current when loaded.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

const status = document.getElementById("live");
const REFUSED = 4403; // no session, another origin, or not this person's need
const PAGE = `/console/needs/${status ? status.dataset.need : ""}`; // not the URL of a form's answer
let since = status ? Number(status.dataset.since || 0) : 0; // 0: replay all (of this need)
const MAX_WAIT_MS = 30000;

let refreshing = null;
let again = false;
let stopped = false;
let current = null; // the open socket

async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const answer = await fetch(PAGE, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!answer.ok || answer.redirected) {
        stopped = true; // signed out, or the need is gone: the socket closes too
        stop();
        current?.close();
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
        // the page's own word for it, in its language
        status.textContent = `${status.dataset.updated || "Updated:"} ${newest.textContent.trim()}`;
      }
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

function stop() {
  status.textContent =
    status.dataset.stopped || "Live updates stopped: reload the page to see the latest.";
}

function listen(attempt) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${window.location.host}${PAGE}/live?since=${since}`);
  let opened = false;
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "synced") {
      opened = true;
      status.dataset.listening = "true";
      if (!frame.complete) {
        refresh(); // more was missed than the replay holds
      }
    } else if (frame.type === "event") {
      since = Math.max(since, frame.id);
      refresh();
    }
  });
  socket.addEventListener("close", (closed) => {
    delete status.dataset.listening;
    if (closed.code === REFUSED || stopped) {
      stop();
      return;
    }
    const next = opened ? 0 : attempt + 1;
    const wait = Math.min(MAX_WAIT_MS, 1000 * 2 ** next) * (0.5 + Math.random() / 2);
    window.setTimeout(() => listen(next), wait);
  });
  current = socket;
}

if (status && "WebSocket" in window) {
  listen(0);
}
