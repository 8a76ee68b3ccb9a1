/* The case viewer: the case's diagram with its steps marked, beside its timeline. */
"use strict";

(() => {
  const { api, start, setStatus, element } = Suishoupai;
  const viewer = new BpmnJS({ container: "#canvas" });
  const number = document.getElementById("case-number").dataset.number;
  const STATES = ["completed", "current", "escalated", "failed"];

  async function show() {
    const path = `/api/v1/cases/${encodeURIComponent(number)}`;
    const [caseBody, diagram, xml] = await Promise.all([
      api(path).then((r) => r.body),
      api(`${path}/diagram`).then((r) => r.body),
      api(`${path}/diagram.bpmn`).then((r) => r.body),
    ]);
    await viewer.importXML(xml);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    STATES.forEach((name) => {
      (diagram[name] || []).forEach((id) => {
        if (registry.get(id)) canvas.addMarker(id, `state-${name}`);
      });
    });

    document.getElementById("case-status").textContent = `Status: ${caseBody.status}`;
    document.getElementById("case-version").textContent =
      `${diagram.process_id} version ${diagram.version}`;
    document.getElementById("timeline").replaceChildren(
      ...caseBody.timeline.map((event) =>
        element("li", { "data-action": event.action },
          element("span", { class: "when" },
            `${new Date(event.at).toLocaleString()} · ${event.actor}`),
          event.action,
          event.note ? `: ${event.note}` : null)
      )
    );
    document.body.dataset.loaded = number;
    setStatus("");
  }

  start(show);
})();
