// Firewatch Alertmanager UI: hash-routed pages (alerts, silences, silence form, status) built
// with DOM calls and text nodes only, over API v2 (relative URLs, so any path prefix works).
import * as lib from "./lib.mjs";

const main = document.getElementById("main");

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "checked" || k === "value") el[k] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

async function api(method, path, body) {
  const resp = await fetch(`api/v2/${path}`, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function labels(set) {
  return Object.entries(set).map(([k, v]) => h("span", { class: "label" }, `${k}="${v}"`));
}

function error(e) {
  return h("p", { class: "error", role: "alert" }, String(e.message ?? e));
}

function params() {
  const q = location.hash.split("?")[1] ?? "";
  return new URLSearchParams(q);
}

function setParams(base, p) {
  location.hash = `${base}?${p.toString()}`;
}

async function alertsPage() {
  const p = params();
  const filter = h("input", { id: "filter", value: p.get("filter") ?? "", placeholder: '{alertname="..."}' });
  const groupBy = h("input", { id: "group-by", value: p.get("groupBy") ?? "alertname", placeholder: "alertname,job" });
  const silenced = h("input", { type: "checkbox", id: "silenced", checked: p.get("silenced") === "true" });
  const inhibited = h("input", { type: "checkbox", id: "inhibited", checked: p.get("inhibited") === "true" });
  const apply = () => {
    const q = new URLSearchParams({ filter: filter.value, groupBy: groupBy.value, silenced: silenced.checked, inhibited: inhibited.checked });
    setParams("#/alerts", q);
  };
  const out = h("div", { id: "groups" });
  main.replaceChildren(
    h("h2", {}, "Alerts"),
    h("div", {},
      h("label", {}, "Filter ", filter), " ",
      h("label", {}, "Group by ", groupBy), " ",
      h("label", {}, silenced, " Silenced"), " ",
      h("label", {}, inhibited, " Inhibited"), " ",
      h("button", { id: "apply", onclick: apply }, "Apply")),
    out);
  try {
    const matchers = lib.parseMatchers(filter.value);
    const all = await api("GET", "alerts");
    const shown = lib.filterAlerts(all, { matchers, silenced: silenced.checked, inhibited: inhibited.checked });
    const by = groupBy.value.split(",").map((s) => s.trim()).filter(Boolean);
    const groups = lib.groupAlerts(shown, by);
    if (groups.length === 0) out.append(h("p", {}, "No alerts."));
    for (const g of groups) {
      out.append(h("div", { class: "group" },
        h("h3", {}, `receiver: ${g.receiver} `, labels(g.labels), ` (${g.alerts.length})`),
        h("ul", {}, g.alerts.map((a) => h("li", { class: "alert" },
          labels(a.labels), " ",
          h("span", { class: "meta" }, `since ${a.startsAt} · ${a.status.state}`),
          (a.status.silencedBy ?? []).length ? h("span", { class: "meta" }, ` · silenced by ${a.status.silencedBy.join(", ")}`) : null,
          (a.status.inhibitedBy ?? []).length ? h("span", { class: "meta" }, ` · inhibited`) : null,
          " ",
          h("a", { href: `#/silences/new?matchers=${encodeURIComponent(Object.entries(a.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", "))}` }, "Silence"))))));
    }
  } catch (e) {
    out.append(error(e));
  }
}

async function silencesPage() {
  const p = params();
  const state = p.get("state") ?? "active";
  const out = h("div", { id: "silences" });
  main.replaceChildren(
    h("h2", {}, "Silences"),
    h("div", {}, ["active", "pending", "expired", "all"].map((s) =>
      h("button", { class: s === state ? "current" : "", "data-state": s, onclick: () => setParams("#/silences", new URLSearchParams({ state: s })) }, s))),
    out);
  try {
    const list = lib.filterSilences(await api("GET", "silences"), state);
    if (list.length === 0) out.append(h("p", {}, `No ${state === "all" ? "" : state + " "}silences.`));
    for (const s of list) {
      out.append(h("div", { class: "silence", "data-id": s.id },
        h("div", {}, s.matchers.map((m) => h("span", { class: "label" }, lib.formatMatcher(m)))),
        h("div", { class: "meta" }, `${s.status.state} · ${s.startsAt} → ${s.endsAt}`),
        h("div", { class: "author" }, `by ${s.createdBy}: `, h("span", { class: "comment" }, s.comment)),
        h("a", { href: `#/silences/new?id=${encodeURIComponent(s.id)}` }, "Edit"), " ",
        s.status.state === "expired" ? null : h("button", {
          class: "expire",
          onclick: async () => {
            try {
              await api("DELETE", `silence/${encodeURIComponent(s.id)}`);
              silencesPage();
            } catch (e) {
              out.prepend(error(e));
            }
          },
        }, "Expire")));
    }
  } catch (e) {
    out.append(error(e));
  }
}

async function silenceForm() {
  const p = params();
  const field = (name, label, value = "", type = "input") =>
    h("label", {}, `${label} `, h(type, { name, id: `silence-${name}`, value }));
  let existing = null;
  const msg = h("div", { id: "form-message" });
  try {
    if (p.get("id")) existing = await api("GET", `silence/${encodeURIComponent(p.get("id"))}`);
  } catch (e) {
    msg.append(error(e));
  }
  const form = h("form", { id: "silence-form" },
    field("matchers", "Matchers", existing ? existing.matchers.map(lib.formatMatcher).join(", ") : (p.get("matchers") ?? "")),
    field("startsAt", "Start (empty: now)", existing?.startsAt ?? ""),
    field("duration", "Duration", "2h"),
    field("endsAt", "End (overrides the duration)", existing?.endsAt ?? ""),
    field("createdBy", "Author", existing?.createdBy ?? localStorage.getItem("fw-am-author") ?? ""),
    field("comment", "Comment", existing?.comment ?? "", "textarea"));
  const preview = h("div", { id: "preview" });
  const read = () => Object.fromEntries([...form.querySelectorAll("input,textarea")].map((i) => [i.name, i.value]));
  const doPreview = async () => {
    preview.replaceChildren();
    try {
      const matchers = lib.parseMatchers(read().matchers);
      const hit = lib.filterAlerts(await api("GET", "alerts"), { matchers, silenced: true, inhibited: true });
      preview.append(h("p", {}, `${hit.length} alert(s) affected`),
        h("ul", {}, hit.map((a) => h("li", { class: "affected" }, labels(a.labels)))));
    } catch (e) {
      preview.append(error(e));
    }
  };
  const save = async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    try {
      const body = lib.silenceBody({ ...read(), id: existing?.id });
      localStorage.setItem("fw-am-author", body.createdBy);
      const r = await api("POST", "silences", body);
      msg.append(h("p", { id: "saved" }, `Saved silence ${r.silenceID}`));
    } catch (e) {
      msg.append(error(e));
    }
  };
  form.addEventListener("submit", save);
  form.append(h("button", { type: "button", id: "preview-button", onclick: doPreview }, "Preview alerts"),
    h("button", { type: "submit", id: "save" }, existing ? "Update" : "Create"));
  main.replaceChildren(h("h2", {}, existing ? "Edit silence" : "New silence"), form, msg, preview);
}

async function statusPage() {
  main.replaceChildren(h("h2", {}, "Status"));
  try {
    const s = await api("GET", "status");
    const row = (k, v) => h("tr", {}, h("th", {}, k), h("td", {}, v));
    main.append(
      h("table", { id: "status" },
        row("Uptime", s.uptime),
        row("Version", `${s.versionInfo.revision} (API ${s.versionInfo.version})`),
        row("Cluster", `${s.cluster.status}${s.cluster.name ? ` · ${s.cluster.name}` : ""}`)),
      h("h3", {}, "Cluster peers"),
      h("ul", { id: "peers" }, (s.cluster.peers ?? []).map((p) => h("li", {}, `${p.name} (${p.address})`))),
      h("h3", {}, "Configuration"),
      h("pre", { id: "config" }, s.config.original));
  } catch (e) {
    main.append(error(e));
  }
}

function route() {
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/alerts";
  const page = { "/alerts": alertsPage, "/silences": silencesPage, "/silences/new": silenceForm, "/status": statusPage }[path] ?? alertsPage;
  page();
}

window.addEventListener("hashchange", route);
route();
