// The DS1 dashboard: polls the JSON API and renders it; the chat box posts to /api/chat.
// Plain DOM, no build step. Data is always inserted as text (never as HTML).
"use strict";

const REFRESH_MS = Number(new URLSearchParams(location.search).get("refresh_ms")) || 2000;

// KPI cards: key in /api/kpis -> label and format. Other numeric keys are shown after these.
const KPI_CARDS = [
  ["day", "day", "int"],
  ["cash_cents", "cash", "money"],
  ["revenue_cents", "revenue", "money"],
  ["ad_spend_cents", "ad spend", "money"],
  ["orders", "orders", "int"],
  ["daily_ad_budget_cents", "daily ad budget", "money"],
  ["risk_mode", "risk mode", "text"],
  ["roas", "ROAS", "ratio"],
];

function money(cents) {
  if (typeof cents !== "number") return "—";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100).toLocaleString("en-US")}.${String(abs % 100).padStart(2, "0")}`;
}

function format(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "money") return money(value);
  if (kind === "ratio") return typeof value === "number" ? value.toFixed(2) : String(value);
  if (kind === "int") return typeof value === "number" ? value.toLocaleString("en-US") : String(value);
  return String(value);
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function fillRows(tbodyId, rows, cells) {
  const tbody = document.getElementById(tbodyId);
  const fresh = rows.map((row) => {
    const tr = el("tr");
    for (const cell of cells(row)) tr.append(el("td", cell));
    return tr;
  });
  tbody.replaceChildren(...fresh);
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function renderKpis(kpis) {
  const cards = [];
  const shown = new Set();
  for (const [key, label, kind] of KPI_CARDS) {
    if (!(key in kpis)) continue;
    shown.add(key);
    cards.push([key, label, format(kpis[key], kind)]);
  }
  for (const [key, value] of Object.entries(kpis)) {
    if (shown.has(key) || typeof value !== "number") continue;
    const kind = key.endsWith("_cents") ? "money" : Number.isInteger(value) ? "int" : "ratio";
    cards.push([key, key.replace(/_cents$/, "").replaceAll("_", " "), format(value, kind)]);
  }
  document.getElementById("kpis").replaceChildren(...cards.map(([key, label, text]) => {
    const card = el("div", undefined, { class: "card", "data-kpi": key });
    card.append(el("div", label, { class: "label" }), el("div", text, { class: "value" }));
    return card;
  }));
  fillRows("campaigns", kpis.campaigns || [], (c) => [`#${c.id}`, c.status, money(c.daily_budget_cents)]);
  const rows = document.getElementById("campaigns").rows;
  (kpis.campaigns || []).forEach((c, i) => {
    rows[i].dataset.campaign = String(c.id);
    rows[i].dataset.status = c.status;
  });
}

// The fields worth a glance, in this order; other scalar fields follow while there is room.
const SUMMARY_FIRST = ["command", "argument", "target", "order_name", "amount_cents", "currency",
  "financial_status", "reason", "status"];
const SUMMARY_SKIP = /(_gid|_at|^dedupe_key|^customer_email|^customer_ref)$/;

function summary(payload) {
  const entries = Object.entries(payload || {}).filter(([key, value]) =>
    value !== null && typeof value !== "object" && !SUMMARY_SKIP.test(key));
  // Integers past 2^53 (Shopify ids, ops's ticket ids) arrive as decimal strings: shown exactly.
  const rank = ([key]) => (SUMMARY_FIRST.includes(key) ? SUMMARY_FIRST.indexOf(key) : SUMMARY_FIRST.length);
  entries.sort((a, b) => rank(a) - rank(b));
  return entries.slice(0, 5)
    .map(([key, value]) => `${key}=${key.endsWith("_cents") ? money(value) : value}`)
    .join(" ");
}

async function refresh() {
  const results = await Promise.allSettled([
    getJson("/api/kpis"), getJson("/api/agents"), getJson("/api/events?limit=20"),
    getJson("/api/dlq"), getJson("/api/status"), fetch("/healthz"),
  ]);
  const [kpis, agents, events, dlq, status, health] = results;
  if (kpis.status === "fulfilled") renderKpis(kpis.value);
  if (agents.status === "fulfilled") {
    fillRows("agents", agents.value.agents, (a) => [a.name, a.state, String(a.restarts)]);
  }
  if (events.status === "fulfilled") {
    fillRows("events", events.value.events, (e) => [
      new Date(e.created_at).toLocaleTimeString(), e.type, e.source, summary(e.payload)]);
  }
  if (dlq.status === "fulfilled") {
    const letters = dlq.value.dead_letters;
    document.getElementById("dlq-count").textContent = String(letters.length);
    fillRows("dlq", letters, (d) => [String(d.id), d.handler, d.type, String(d.attempts), d.last_error]);
  }
  if (status.status === "fulfilled") {
    const breakers = Object.entries(status.value.breakers);
    fillRows("breakers", breakers, ([name, b]) => [name, b.state, String(b.consecutive_failures), String(b.opens)]);
    if (breakers.length === 0) {
      const row = el("tr");
      row.append(el("td", "no live platform (all adapters are mocks)", { colspan: "4", class: "muted" }));
      document.getElementById("breakers").replaceChildren(row);
    }
    document.getElementById("queues").textContent = Object.entries(status.value.queue_depths)
      .map(([name, depth]) => `${name}: ${depth} waiting`).join(" · ");
  }
  const ok = health.status === "fulfilled" && health.value.ok && results.every((r) => r.status === "fulfilled");
  const badge = document.getElementById("health");
  badge.dataset.state = ok ? "ok" : "down";
  badge.textContent = ok ? "live" : "degraded";
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

function say(text, kind) {
  const log = document.getElementById("chat-log");
  log.append(el("li", text, { class: kind }));
  log.scrollTop = log.scrollHeight;
}

async function sendChat(event) {
  event.preventDefault();
  const input = document.getElementById("chat-input");
  const button = document.getElementById("chat-send");
  const message = input.value.trim();
  if (!message) return;
  say(message, "user");
  input.value = "";
  button.disabled = true;
  try {
    const response = await fetch("/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ message }),
    });
    const body = await response.json().catch(() => ({}));
    say(body.reply || body.detail || `HTTP ${response.status}`, response.ok ? "ceo" : "error");
    await refresh();
  } catch (error) {
    say(`could not reach the server: ${error.message}`, "error");
  } finally {
    button.disabled = false;
    input.focus();
  }
}

document.getElementById("chat-form").addEventListener("submit", sendChat);
refresh();
setInterval(() => refresh().catch(() => {}), REFRESH_MS);
