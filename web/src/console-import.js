// The import page's apply, with a progress bar (app/console/import_page.py): the form is
// sent in the background while the page asks the import's progress each second
// (`data-url`, the rows its committed batches have done), then the answer's main part
// replaces this one. Without JavaScript the form posts as any other and its answer is
// the same page, once every batch is done.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

const form = document.getElementById("apply-form");
const box = document.getElementById("progress");
const POLL_MS = 1000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function follow(state) {
  const bar = document.getElementById("progress-bar");
  const words = document.getElementById("progress-words");
  while (!state.finished) {
    await sleep(POLL_MS);
    try {
      const answer = await fetch(box.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!answer.ok || state.finished) {
        continue;
      }
      const found = await answer.json();
      bar.max = Math.max(found.rows, 1);
      bar.value = found.applied_rows;
      words.textContent = box.dataset.words
        .replace("{done}", found.applied_rows.toLocaleString())
        .replace("{rows}", found.rows.toLocaleString());
    } catch {
      // the next poll will tell
    }
  }
}

async function apply(event) {
  event.preventDefault();
  const state = { finished: false };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  button.setAttribute("aria-disabled", "true");
  box.hidden = false;
  follow(state);
  let answer;
  try {
    answer = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
  } catch {
    state.finished = true;
    form.submit(); // as without JavaScript: its answer says what happened (409 once applied)
    return;
  }
  state.finished = true;
  const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
  const main = fresh.getElementById("main-content");
  if (!main) {
    form.submit();
    return;
  }
  document.title = fresh.title;
  const adopted = document.adoptNode(main);
  document.getElementById("main-content").replaceWith(adopted);
  initAll(adopted);
  document.getElementById("result-heading")?.focus();
}

if (form && box) {
  form.addEventListener("submit", apply);
}
