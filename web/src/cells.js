// The coordinator's cell panel: one hexagon's unfilled needs (GET /v1/coverage/cells/{cell}/needs)
// and what a coordinator does about them, all through the API: a need's candidates with their
// explanations (GET /v1/needs/{id}/candidates), the next wave now and an offer to a named
// volunteer (POST /v1/needs/{id}/offers). Refusals are shown in words next to the control and
// announced in the live region; the panel is read again after every action.
(function () {
  "use strict";
  const ESCALATION = {
    no_candidates: "no eligible volunteer can reach it",
    waves_exhausted: "every wave the programme allows has been sent",
    alert_cap: "the most alerts the programme allows have been sent",
    all_asleep: "everyone left is in quiet hours until after it starts",
  };
  const REASONS = {
    not_approved: "not an approved volunteer here",
    too_far: "beyond their travel radius",
    vetting_level: "no DBS check at the level needed",
    vetting_expired: "their DBS check lapses before the need ends",
    barred: "on a barred list",
    skills: "lacks a required skill",
    languages: "does not speak a required language",
    unavailable: "not available at that time",
    off_duty: "off duty (urgent needs go to volunteers on duty)",
    hours_cap: "it would take them past their weekly hours",
    assignments_cap: "already at their limit of commitments",
    micro_task_cap: "already holding the most micro-tasks",
    conflict: "busy with another assignment then",
    excluded: "kept from this client",
    already_offered: "already offered this need",
    already_assigned: "already holds a slot of this need",
  };
  const STATUS = { open: "open", partially_filled: "partly filled" };
  const reasonWords = (codes) => codes.map((c) => REASONS[c.trim()] || c.trim()).join("; ");

  // A problem+json answer in words: "not eligible: too_far" becomes the rule's words.
  function problemWords(error) {
    const problem = error.problem || {};
    const fields = problem.errors || [];
    const said = fields.length ? fields.map((f) => f.message) : [problem.detail || error.message];
    const words = said.map((m) => (m.startsWith("not eligible: ")
      ? "not eligible: " + reasonWords(m.slice("not eligible: ".length).split(","))
      : m));
    const prefix = { 403: "Not allowed", 404: "Not found", 409: "Refused", 422: "Refused" };
    return `${prefix[error.status] || "Failed"}: ${words.join("; ")}.`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  const when = (iso) => new Date(iso).toLocaleString([], {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });

  window.CodeliverCells = function (deps) {
    const { api, filters, $, announce, afterAction } = deps;
    let open = null;  // { cell, label, trigger }
    const messages = new Map();  // "need:action" -> text, kept across re-renders
    const rosters = new Map();  // org id -> [{ user_id, display_name }]
    const expanded = new Set();  // needs whose candidates are shown: read again on re-render

    async function roster(orgId) {
      if (!rosters.has(orgId)) {
        const people = [];
        let cursor = "";
        for (let page = 0; page < 10; page += 1) {
          const got = await api("/v1/volunteers", {
            params: { org_id: orgId, status: "approved", limit: 200, cursor },
          });
          people.push(...got.items);
          if (!got.next_cursor) break;
          cursor = got.next_cursor;
        }
        rosters.set(orgId, people);
      }
      return rosters.get(orgId);
    }

    // An outcome next to its control (kept across re-renders), announced unless `quiet`.
    function say(needId, action, text, quiet = false) {
      messages.set(`${needId}:${action}`, text);
      const target = $(`msg-${action}-${needId}`);
      if (target) target.textContent = text;
      if (!quiet) announce(text);
    }

    // Run an action, say its outcome next to its control, then read the panel again and put
    // the focus back on the control.
    async function act(needId, action, run) {
      const controlId = document.activeElement && document.activeElement.id;
      document.body.dataset.panel = "busy";
      try {
        say(needId, action, await run());
        await afterAction();
        if (open) await show(open.cell, open.label, open.trigger, false);
      } catch (error) {
        if (error.name === "SignedOut") return;
        say(needId, action, problemWords(error));
        document.body.dataset.panel = "open";
      }
      if (controlId && $(controlId)) $(controlId).focus();
    }

    const offerTo = (need, volunteerIds) => api(`/v1/needs/${need.id}/offers`, {
      method: "POST", body: volunteerIds ? { volunteer_ids: volunteerIds } : {},
    });

    function waveNow(need) {
      return act(need.id, "wave", async () => {
        const made = await offerTo(need, null);
        if (!made.length) {
          return "No offer sent: nobody eligible is left who has not been offered it.";
        }
        const names = made.map((o) => o.volunteer_name || "a volunteer").join(", ");
        return `Sent ${made.length} offer${made.length === 1 ? "" : "s"} now: ${names}.`;
      });
    }

    function offerNamed(need, volunteerId, name) {
      return act(need.id, "named", async () => {
        await offerTo(need, [volunteerId]);
        return `Offered to ${name}.`;
      });
    }

    async function offerByName(need) {
      const name = $(`name-${need.id}`).value.trim();
      if (!name) {
        say(need.id, "named", "Type a volunteer's name first.");
        return;
      }
      let people;
      try {
        people = (await roster(need.org_id)).filter(
          (p) => p.display_name.toLowerCase() === name.toLowerCase());
      } catch (error) {
        if (error.name !== "SignedOut") say(need.id, "named", problemWords(error));
        return;
      }
      if (people.length !== 1) {
        say(need.id, "named", people.length
          ? `Refused: ${people.length} approved volunteers are named ${name}; offer from the candidates.`
          : `Refused: no approved volunteer is named ${name}.`);
        return;
      }
      await offerNamed(need, people[0].user_id, people[0].display_name);
    }

    // `quiet`: read again after an action, without announcing it.
    async function candidates(need, quiet) {
      try {
        const found = await api(`/v1/needs/${need.id}/candidates`, { params: { limit: 10 } });
        $(`candidates-${need.id}`).replaceChildren(found.length ? candidateList(need, found)
          : el("p", { text: "No eligible volunteer: nobody who could take it is left to offer." }));
        $(`cand-${need.id}`).setAttribute("aria-expanded", "true");
        expanded.add(need.id);
        const count = `${found.length} eligible candidate${found.length === 1 ? "" : "s"}.`;
        say(need.id, "candidates", count, quiet);
      } catch (error) {
        if (error.name !== "SignedOut") say(need.id, "candidates", problemWords(error));
      }
    }

    function candidateList(need, found) {
      return el("ol", { class: "candidates" }, ...found.map((c, n) => {
        const name = c.display_name || "A volunteer";
        const where = [
          c.distance_km === null ? null : `${c.distance_km} km`,
          c.travel_minutes === null ? null : `about ${Math.round(c.travel_minutes)} min away`,
        ].filter(Boolean).join(", ");
        return el("li", {},
          el("span", { text: `${name}: score ${c.score === null ? "-" : c.score.toFixed(2)}` +
            (where ? ` (${where})` : "") }),
          el("ul", { class: "why" }, ...c.explanation.map((e) => el("li", {
            text: `${e.factor}: ${e.note} (+${e.points.toFixed(2)})`,
          }))),
          el("button", {
            type: "button", id: `offer-${need.id}-${n}`, text: `Offer to ${name}`,
            onclick: () => offerNamed(need, c.volunteer_id, name),
          }));
      }));
    }

    function needItem(need) {
      const msg = (action) => el("p", {
        class: "msg", id: `msg-${action}-${need.id}`, text: messages.get(`${need.id}:${action}`) || "",
      });
      const escalated = need.escalated_at
        ? el("p", { class: "escalated" }, el("strong", { text: "Escalated: " }),
          `${ESCALATION[need.escalation_reason] || need.escalation_reason}, ` +
          `${when(need.escalated_at)}.`)
        : null;
      const listId = `vols-${need.org_id}`;
      return el("li", { class: "need-item" }, el("article", { "aria-labelledby": `need-${need.id}` },
        el("h3", { id: `need-${need.id}`, text: need.title }),
        el("p", { text: `Status: ${STATUS[need.status] || need.status}; ${need.filled} of ` +
          `${need.slots} slots filled; ${need.urgency} urgency; starts ${when(need.starts_at)}.` }),
        escalated,
        el("p", { text: `Unmet ${need.unmet_hours} h of ${need.demand_hours} h wanted ` +
          `(${need.supply_hours} h of volunteers' time could go to it); ` +
          `${need.waves_sent} wave${need.waves_sent === 1 ? "" : "s"} sent.` }),
        el("div", { class: "actions" },
          el("button", {
            type: "button", id: `cand-${need.id}`, "aria-expanded": "false",
            "aria-controls": `candidates-${need.id}`, "aria-describedby": `msg-candidates-${need.id}`,
            text: "Candidates, with explanations", onclick: () => candidates(need, false),
          }),
          msg("candidates"),
          el("div", { id: `candidates-${need.id}` }),
          el("button", {
            type: "button", id: `wave-${need.id}`, "aria-describedby": `msg-wave-${need.id}`,
            text: "Send the next wave now", onclick: () => waveNow(need),
          }),
          msg("wave"),
          el("form", {
            class: "named", onsubmit: (e) => { e.preventDefault(); offerByName(need); },
          },
          el("label", { for: `name-${need.id}`, text: "Offer to a named volunteer" }),
          el("input", {
            id: `name-${need.id}`, type: "text", list: listId, autocomplete: "off",
            "aria-describedby": `msg-named-${need.id}`,
            onfocus: () => fillNames(need.org_id, listId),
          }),
          el("button", { type: "submit", id: `named-${need.id}`, text: "Offer" })),
          msg("named")),
      ));
    }

    async function fillNames(orgId, listId) {
      if ($(listId)) return;
      try {
        const people = await roster(orgId);
        document.body.append(el("datalist", { id: listId },
          ...people.map((p) => el("option", { value: p.display_name }))));
      } catch (error) { /* the offer itself says why, if it fails */ }
    }

    // Open (or read again) a cell's panel; `focus`: move the focus to it (a new cell).
    async function show(cell, label, trigger, focus = true) {
      if (!open || open.cell !== cell) expanded.clear();
      open = { cell, label, trigger };
      const panel = $("cell-panel");
      const body = await api(`/v1/coverage/cells/${cell}/needs`, {
        params: { ...filters(), resolution: $("resolution").value },
      });
      $("cell-title").textContent = `Cell at ${label}`;
      $("cell-summary").textContent = body.suppressed
        ? `Fewer than ${body.k_min} clients here: their needs are not listed, as the map ` +
          "shows no figure. Choose a larger cell size to see them with their neighbours'."
        : `${body.total} unfilled need${body.total === 1 ? "" : "s"} this week` +
          (body.total > body.needs.length ? ` (the first ${body.needs.length} listed)` : "") +
          ", escalated first; locations are coarse.";
      $("cell-needs").replaceChildren(...body.needs.map(needItem));
      const listed = body.needs.filter((n) => expanded.has(n.id));
      await Promise.all(listed.map((n) => candidates(n, true)));
      panel.hidden = false;
      panel.dataset.cell = cell;
      document.body.dataset.panel = "open";
      if (focus) {
        panel.focus();
        announce(`Cell at ${label}: ${$("cell-summary").textContent}`);
      }
    }

    function close() {
      const trigger = open && open.trigger;
      open = null;
      $("cell-panel").hidden = true;
      document.body.dataset.panel = "closed";
      if (trigger && document.body.contains(trigger)) trigger.focus();
    }
    $("cell-close").addEventListener("click", close);

    return {
      show,
      close,
      reset() { rosters.clear(); messages.clear(); close(); },
      problemWords,
    };
  };
})();
