// The console's live parts: copy buttons, and the outbox refreshing itself without a reload.
"use strict";

function copyText(text, button) {
  const done = () => { button.textContent = "copied"; setTimeout(() => { button.textContent = "copy"; }, 1200); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
}

function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
  area.remove();
  done();
}

function copyButton(text) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "copy";
  button.dataset.text = text;
  button.addEventListener("click", () => copyText(text, button));
  return button;
}

function addCopyButtons(root) {
  root.querySelectorAll(".copyable").forEach((el) => {
    if (el.nextElementSibling && el.nextElementSibling.classList.contains("copy")) return;
    el.after(copyButton(el.textContent.trim()));
  });
}

const LINK = /https?:\/\/[^\s<>"']+/g;

// Text with its links as anchors (each with a copy button); built from text nodes only.
function linkified(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    out.append(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement("a");
    a.href = match[0];
    a.textContent = match[0];
    a.className = "message-link";
    out.append(a, copyButton(match[0]));
    last = match.index + match[0].length;
  }
  out.append(document.createTextNode(text.slice(last)));
  return out;
}

function when(epoch) {
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function cell(row, ...children) {
  const td = document.createElement("td");
  td.append(...children);
  row.append(td);
  return td;
}

function messageRow(m) {
  const row = document.createElement("tr");
  row.dataset.id = m.id;
  cell(row, when(m.created));
  cell(row, m.kind || "");
  cell(row, `${m.channel || ""} ${m.destination || ""}`);
  cell(row, m.pool_id || "", document.createElement("br"), m.username || "");
  const code = cell(row);
  if (m.code) {
    const c = document.createElement("code");
    c.className = "code copyable";
    c.textContent = m.code;
    code.append(c);
  }
  const body = cell(row);
  body.className = "body";
  if (m.subject) {
    const s = document.createElement("strong");
    s.textContent = m.subject;
    body.append(s, document.createElement("br"));
  }
  body.append(linkified(m.body || ""));
  return row;
}

function liveOutbox(table) {
  const tbody = table.querySelector("tbody");
  const state = document.getElementById("live-state");
  let shown = Array.from(tbody.querySelectorAll("tr[data-id]")).map((r) => r.dataset.id).join(",");
  const refresh = async () => {
    try {
      const answer = await fetch(table.dataset.feed, { headers: { Accept: "application/json" } });
      const found = (await answer.json()).messages;
      const ids = found.map((m) => m.id).join(",");
      if (ids !== shown) {
        shown = ids;
        tbody.replaceChildren(...found.map(messageRow));
        addCopyButtons(tbody);
      }
      if (state) state.textContent = "live";
    } catch (e) {
      if (state) state.textContent = "offline: retrying";
    }
  };
  tbody.querySelectorAll("td.body").forEach((td) => td.replaceChildren(linkified(td.textContent)));
  setInterval(refresh, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  addCopyButtons(document);
  document.querySelectorAll("button.copy[data-copy-from]").forEach((button) => {
    button.addEventListener("click", () => {
      copyText(document.getElementById(button.dataset.copyFrom).textContent, button);
    });
  });
  const outbox = document.getElementById("outbox");
  if (outbox && outbox.dataset.feed) liveOutbox(outbox);
});
