/* The modeler page: open a deployed version, edit, check with the service, deploy. */
"use strict";

(() => {
  const { api, start, setStatus, element } = Suishoupai;
  const modeler = new BpmnJS({ container: "#canvas", keyboard: { bindTo: document } });
  window.suishoupaiModeler = modeler;

  const state = { versions: [], files: {}, mainFile: null, marked: [] };
  const processSelect = document.getElementById("process");
  const versionSelect = document.getElementById("version");

  function query(name) {
    return new URLSearchParams(window.location.search).get(name);
  }

  async function loadVersions(processId, number) {
    state.versions = (await api("/api/v1/definitions")).body;
    const processes = [...new Set(state.versions.map((v) => v.process_id))];
    processSelect.replaceChildren(
      ...processes.map((p) => element("option", { value: p, textContent: p }))
    );
    processSelect.value = processId && processes.includes(processId)
      ? processId
      : processes.includes("case_loop") ? "case_loop" : processes[0];
    fillVersions(number);
  }

  function fillVersions(number) {
    const mine = state.versions
      .filter((v) => v.process_id === processSelect.value)
      .sort((a, b) => b.version - a.version);
    versionSelect.replaceChildren(
      ...mine.map((v) =>
        element("option", {
          value: String(v.version),
          textContent: `${v.version}${v.newest ? " (newest)" : ""} · ${v.deployed_by}`,
        })
      )
    );
    const wanted = mine.find((v) => String(v.version) === String(number));
    versionSelect.value = String((wanted || mine[0] || {}).version || "");
  }

  async function openVersion() {
    const processId = processSelect.value;
    const number = versionSelect.value;
    if (!processId || !number) return;
    setStatus(`Opening ${processId} version ${number}…`);
    const base = `/api/v1/definitions/${encodeURIComponent(processId)}/versions/${number}`;
    const version = (await api(base)).body;
    state.files = {};
    for (const name of version.files) {
      state.files[name] = (await api(`${base}/files/${encodeURIComponent(name)}`)).body;
    }
    state.mainFile = version.main_file || version.files[0];
    await modeler.importXML(state.files[state.mainFile]);
    modeler.get("canvas").zoom("fit-viewport");
    showProblems(null);
    history.replaceState(null, "", `?process=${encodeURIComponent(processId)}&version=${number}`);
    document.body.dataset.loaded = `${processId}:${number}`;
    setStatus(`${processId} version ${number} (${version.open_cases} open cases)`);
  }

  async function upload(path) {
    const { xml } = await modeler.saveXML({ format: true });
    const form = new FormData();
    Object.entries(state.files).forEach(([name, text]) => {
      const content = name === state.mainFile ? xml : text;
      form.append("files", new Blob([content], { type: "application/xml" }), name);
    });
    form.append("process_id", processSelect.value);
    return api(path, { method: "POST", body: form });
  }

  async function check() {
    setStatus("Checking…");
    const result = (await upload("/api/v1/definitions/check")).body;
    showProblems(result.errors);
    setStatus(
      result.valid ? "No problems: ready to deploy." : `${result.errors.length} problem(s)`,
      result.valid ? "ok" : "bad"
    );
  }

  async function deploy() {
    setStatus("Deploying…");
    try {
      const { status, body } = await upload("/api/v1/definitions");
      showProblems([]);
      await loadVersions(body.process_id, body.version);
      history.replaceState(null, "", `?process=${encodeURIComponent(body.process_id)}&version=${body.version}`);
      setStatus(
        status === 201
          ? `Deployed ${body.process_id} version ${body.version}`
          : `Nothing changed: version ${body.version} is the same`,
        "ok"
      );
    } catch (error) {
      if (error.status === 422 && Array.isArray(error.body.errors)) {
        showProblems(error.body.errors);
        setStatus(`Not deployed: ${error.body.errors.length} problem(s)`, "bad");
        return;
      }
      throw error;
    }
  }

  function showProblems(problems) {
    const canvas = modeler.get("canvas");
    const overlays = modeler.get("overlays");
    const registry = modeler.get("elementRegistry");
    state.marked.forEach((id) => canvas.removeMarker(id, "has-problem"));
    overlays.remove({ type: "problem" });
    state.marked = [];

    const list = document.getElementById("problems");
    list.replaceChildren();
    document.getElementById("no-problems").hidden = problems !== null;
    (problems || []).forEach((problem) => {
      const id = problem.element_id;
      const where = [
        `${problem.file || "?"}:${problem.line || "?"}`,
        id,
        problem.element_name ? `(${problem.element_name})` : null,
      ].filter(Boolean).join(" ");
      const item = element("li", { "data-element-id": id || "" },
        problem.message, element("span", { class: "where" }, where));
      if (id && registry.get(id)) {
        canvas.addMarker(id, "has-problem");
        state.marked.push(id);
        overlays.add(id, "problem", {
          position: { top: -9, right: 9 },
          html: element("div", { class: "problem-badge", title: problem.message }, "!"),
        });
        item.addEventListener("click", () => {
          modeler.get("selection").select(registry.get(id));
          if (canvas.scrollToElement) canvas.scrollToElement(registry.get(id));
        });
      }
      list.append(item);
    });
  }

  function guarded(action) {
    return () => action().catch((error) => {
      if (error.status !== 401) setStatus(error.message, "bad");
    });
  }

  processSelect.addEventListener("change", guarded(async () => {
    fillVersions(null);
    await openVersion();
  }));
  versionSelect.addEventListener("change", guarded(openVersion));
  document.getElementById("check").addEventListener("click", guarded(check));
  document.getElementById("deploy").addEventListener("click", guarded(deploy));

  start(async () => {
    await loadVersions(query("process"), query("version"));
    await openVersion();
  });
})();
