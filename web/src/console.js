// The caseworker's console works without JavaScript; this only enhances it with GOV.UK
// Frontend's components (error summary focus, the menu toggle, double-click prevention).
// Served by the app from govuk-frontend as npm installed it: no CDN.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
initAll();
