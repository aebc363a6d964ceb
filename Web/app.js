// ledgerd status page. Plain DOM, fetch only, no framework, no build step.
//
// The server sends /api/status with a `panels` list; each id is drawn by the renderer of the
// same name below, in that order. A new capability adds a section to the JSON, its id to
// `panels`, and a renderer here. Ids without a renderer are skipped.
//
// Everything that comes from data is set with textContent (never innerHTML): file names and
// reasons are whatever people dropped into the inbox.
"use strict";

const REFRESH_MS = 5000;
const TOKEN_KEY = "ledgerd.token";

// ---------- small DOM helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/// A figure the tests (and people) can find: <span data-figure="key">text</span>.
function figure(key, text, extra) {
  return el("span", Object.assign({ "data-figure": key, class: "figure", text: text }, extra || {}));
}

/// A file name as text to read: control and bidirectional characters shown as \n, \t, \r or
/// \uXXXX (as ledgerd's logs and command line show them), so a name can neither break a line
/// nor show its characters in another order than they are stored. Attributes keep the real
/// name.
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES = { "\n": "\\n", "\t": "\\t", "\r": "\\r" };
function shown(name) {
  return String(name).replace(UNSAFE_IN_NAMES,
    (c) => SHORT_ESCAPES[c] || "\\u" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0"));
}

/// An amount, "12 345.67 NOK": the number and the currency in spans of their own, so that
/// where space is short the line breaks before the currency, never inside the number.
function amount(value, key) {
  const attrs = { class: "amount" + (value.minor < 0 ? " negative" : ""), "data-minor": value.minor, "data-currency": value.currency };
  const node = key ? figure(key, null, attrs) : el("span", attrs);
  const text = String(value.formatted);
  const space = text.lastIndexOf(" ");
  if (space < 0) node.textContent = text;
  else node.append(el("span", { class: "n", text: text.slice(0, space) }), " ", el("span", { class: "cur", text: text.slice(space + 1) }));
  return node;
}

/// Long lists show their first `limit` items; the rest wait behind a "Show N more" that
/// stays open across refreshes. `wrap` makes the container of a run of items.
const openLists = new Set();
function collapsed(key, items, limit, noun, wrap) {
  if (items.length <= limit + 2) return wrap(items);
  const details = el("details", { class: "more", "data-more": key },
    el("summary", { "data-key": "more-" + key, text: "Show " + (items.length - limit) + " more " + noun }), wrap(items.slice(limit)));
  details.open = openLists.has(key);
  details.addEventListener("toggle", () => { if (details.open) openLists.add(key); else openLists.delete(key); });
  return [wrap(items.slice(0, limit)), details];
}

/// The same for table rows, which cannot sit in a <details>: rows past `limit` are hidden
/// until the button under the table shows them.
function collapsedRows(key, table, rows, limit, noun) {
  if (rows.length <= limit + 2) return [table];
  rows.slice(limit).forEach((row) => row.classList.add("extra"));
  const toggle = el("button", { type: "button", class: "link", "data-key": "more-" + key });
  const set = (open) => {
    table.classList.toggle("show-all", open);
    toggle.textContent = open ? "Show fewer " + noun : "Show " + (rows.length - limit) + " more " + noun;
  };
  toggle.addEventListener("click", () => {
    if (openLists.has(key)) openLists.delete(key); else openLists.add(key);
    set(openLists.has(key));
  });
  set(openLists.has(key));
  return [table, el("p", { class: "more" }, toggle)];
}

function panel(id, title, ...children) {
  return el("section", { class: "panel", id: "panel-" + id, "data-panel": id },
    el("h2", { text: title }), ...children);
}

function scroll(table) {
  return el("div", { class: "scroll" }, table);
}

function empty(text) {
  return el("p", { class: "empty", text: text });
}

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (isNaN(date)) return iso;
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : date.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) + " " + time;
}

/// The name a rejected file lies under in the rejected folder: its own, or "name (2).xml"
/// beside another file of its name.
function keptName(item) {
  return item.rejected_path ? item.rejected_path.slice(item.rejected_path.lastIndexOf("/") + 1) : item.name;
}

/// Documents as a table (when, file, inbox, result, details), the first `limit` shown and the
/// rest behind "Show more"; `more(doc)` adds to a row's details.
function documentTable(key, docs, limit, noun, more) {
  const rows = docs.map((doc) =>
    el("tr", { "data-document": doc.name, "data-state": doc.state },
      el("td", { class: "nowrap when", text: when(doc.processed_at) }),
      el("td", { class: "name", text: shown(doc.name) }),
      el("td", { class: "inbox", text: doc.inbox }),
      el("td", { class: "state" }, el("span", { class: "badge " + doc.state, text: doc.state.replace("_", " ") })),
      el("td", { class: "reason" }, details(doc), more ? more(doc) : null)));
  const table = el("table", { class: "recent" },
    el("thead", {}, el("tr", {}, ["When", "File", "Inbox", "Result", "Details"].map((t) => el("th", { text: t })))),
    el("tbody", {}, rows));
  return collapsedRows(key, table, rows, limit, noun).map((node) => node === table ? scroll(table) : node);
}

/// What a recent document came to: for a posted one what it was posted as ("Invoice 12 from
/// Leverandør AS · 1 250.00 NOK · due 2026-12-01"), otherwise the reason (with its code, but
/// for a file dropped again, which is followed by what its bytes were posted as).
function details(doc) {
  // A file dropped again needs no code: its badge says it, and nothing is wrong.
  const code = doc.reason_code && doc.state !== "duplicate" ? doc.reason_code + ": " : "";
  const reason = doc.reason ? shown(code + doc.reason) : "";
  const p = doc.posted_as;
  if (!p || (doc.state !== "posted" && doc.state !== "duplicate")) return reason;
  const what = (p.type === "credit_note" ? "Credit note " : "Invoice ") + shown(p.number)
    + (p.direction === "sale" ? " to " : " from ") + shown(p.party);
  const posted = el("span", { class: "posted-as" }, what + " · ", amount(p.payable), p.due_date ? " · due " + p.due_date : "");
  // A file dropped again: the reason, then what its bytes were posted as.
  if (doc.state === "duplicate") return [reason + " ", posted];
  return doc.note ? [posted, el("p", { class: "note small", text: "To do by hand: " + shown(doc.note) })] : posted;
}

/// The order of parties, most overdue first, as `ledgerd outstanding` lists them: by the
/// oldest aging bucket holding money (an invoice without a due date aged as due 30 days after
/// its issue), then by how much is in it when both are in one currency (no rate is guessed).
/// Compares two aging rows (undefined: nothing aged).
function mostOverdueFirst(a, b) {
  const oldest = (row) => {
    if (!row) return [-1, 0];
    for (let i = row.buckets.length - 1; i >= 0; i--) if (row.buckets[i].minor > 0) return [i, row.buckets[i].minor];
    return [-1, 0];
  };
  const [x, y] = [oldest(a), oldest(b)];
  return (y[0] - x[0]) || (a && b && a.currency === b.currency ? y[1] - x[1] : 0);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
  if (d > 0) return d + " d " + h + " h";
  if (h > 0) return h + " h " + m + " min";
  return m > 0 ? m + " min" : "less than a minute";
}

// "all 7 journal entries balance", "the one journal entry balances", "no journal entries yet".
function balancedText(r) {
  if (!r.balanced) return r.unbalanced.length + (r.unbalanced.length === 1 ? " journal entry does NOT balance" : " journal entries do NOT balance");
  if (r.journal_entries === 0) return "no journal entries yet";
  if (r.journal_entries === 1) return "the one journal entry balances";
  return "all " + r.journal_entries + " journal entries balance";
}

function sideName(side) {
  return side === "receivable" ? "Receivables" : "Payables";
}

// ---------- actions (bearer token, JSON bodies, no cookies) ----------

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
}

// Asks for the password in the page's own dialog, where it is typed unseen (and a password
// manager can fill it); "" when the dialog is cancelled or closed.
//
// One ask at a time, answered by the dialog's own close: a close is announced a moment after
// it happens, so the close of an ask cancelled just before (Escape, then a click at once)
// arrives while the next ask's dialog is open, and must not answer that one.
let passwordWanted = null;
document.getElementById("password").addEventListener("close", () => {
  const dialog = document.getElementById("password");
  const input = document.getElementById("password-value");
  if (!passwordWanted || dialog.open) return;
  const answer = passwordWanted;
  passwordWanted = null;
  const value = dialog.returnValue === "ok" ? input.value : "";
  input.value = "";
  answer(value);
});

function askPassword() {
  const dialog = document.getElementById("password");
  if (dialog.open) return Promise.resolve("");  // asked already
  if (passwordWanted) passwordWanted("");  // closed, its close not yet announced: cancelled
  return new Promise((resolve) => {
    passwordWanted = resolve;
    const input = document.getElementById("password-value");
    input.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

// A file sent back by Retry, followed until it has been taken in again: what became of it
// then replaces the Retry's answer ("… will be tried again").
const FOLLOW_MS = 120000;
let following = null;

function followRetried(data, asked) {
  // Only an answer asked for after the Retry's: one asked before may come back after it.
  if (!following || asked <= following.after) return;
  // Taken in again: posted, or rejected again (put back in the rejected folder, which the
  // Retry made it leave, or a later time; times have whole seconds).
  const again = (doc) => doc.id === following.id
    && (doc.state === "posted" || doc.rejected_path || doc.processed_at !== following.processedAt);
  const doc = data.recent_documents.find(again) || data.rejected.items.find(again);
  if (!doc) {
    if (Date.now() - following.since > FOLLOW_MS) following = null;
    return;
  }
  following = null;
  const output = document.getElementById("action-result");
  const posted = doc.state === "posted";
  output.replaceChildren(shown(doc.name) + (posted ? " was posted: " : " was not posted this time either: "), ...[details(doc)].flat());
  output.dataset.ok = posted ? "true" : "false";
  resultShownAt = Date.now();
}

/// A rejected file's Retry. Where the cure is the configuration, which ledgerd reads when it
/// starts, a file rejected since this daemon started would only be rejected again: the page
/// says so instead, and offers the Retry again after a restart.
function retryButton(item, data) {
  // Times have whole seconds: one rejected in the second the daemon started keeps its Retry.
  if (item.retry_after_restart && data.runtime && item.processed_at > data.runtime.started_at) {
    return el("p", { class: "quiet small", "data-retry-waits": item.name,
      text: "Retry is offered again once ledgerd has been restarted with the mended configuration: it reads its configuration when it starts." });
  }
  return el("p", {}, el("button", { type: "button", "data-key": "retry-" + item.id, "aria-label": "Retry " + shown(item.name),
    onclick: () => act(data.actions.retry, { document_id: item.id, name: item.name }, item), text: "Retry" }));
}

/// Does an action with the page's password; `retried`, for a Retry, is the problem it was
/// for, which the page then follows (`followRetried`).
async function act(path, body, retried) {
  const output = document.getElementById("action-result");
  let value = token();
  if (!value) {
    value = await askPassword();
    if (!value) return;
    try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* private mode */ }
  }
  output.textContent = "…";
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + value },
      body: JSON.stringify(body || {}),
      cache: "no-store",
      credentials: "omit",
    });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) { try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ } }
    output.textContent = response.status === 401
      ? "That password is not the right one; the next click asks for it again."
      : answer.message || answer.error || ("HTTP " + response.status);
    output.dataset.ok = response.ok ? "true" : "false";
    resultShownAt = Date.now();
    if (response.ok && retried) {
      following = { id: retried.id, processedAt: retried.processed_at, since: Date.now(), after: refreshes };
    }
    if (response.ok) refresh();
  } catch (e) {
    output.textContent = "Cannot reach ledgerd.";
    output.dataset.ok = "false";
  }
}

function forgetToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
  const output = document.getElementById("action-result");
  output.textContent = "Password forgotten: the next button asks for it again.";
  output.dataset.ok = "true";
}

// ---------- the banner ----------

let lastOverall = "";
function renderOverall(data) {
  const box = document.getElementById("overall");
  // The banner is a live region: redrawn only when it says something new, or a screen reader
  // would read it out again at every refresh.
  const said = JSON.stringify(data.overall);
  if (said === lastOverall && box.dataset.status === data.overall.status) return;
  lastOverall = said;
  box.dataset.status = data.overall.status;
  document.getElementById("overall-headline").textContent = data.overall.headline;
  const list = document.getElementById("overall-items");
  list.replaceChildren(...data.overall.items.map((item) =>
    el("li", { "data-severity": item.severity, "data-panel": item.panel },
      el("a", { href: "#panel-" + item.panel, class: "what", text: item.text }),
      item.action ? el("span", { class: "todo", text: item.action }) : null)));
}

function renderUnreachable(reason) {
  const box = document.getElementById("overall");
  lastOverall = "";
  document.title = "✗ " + (document.getElementById("company").textContent ? document.getElementById("company").textContent + " · " : "") + "ledgerd";
  box.dataset.status = "unreachable";
  document.getElementById("overall-headline").textContent = "Cannot reach ledgerd.";
  document.getElementById("overall-items").replaceChildren(
    el("li", { "data-severity": "error" },
      el("span", { class: "what", text: reason }),
      el("span", { class: "todo", text: "Check that the service runs (systemctl status ledgerd) and that this address is right. The figures below are from the last successful update." })));
  document.body.classList.add("stale");
}

// ---------- panels ----------

const renderers = {
  inboxes(data) {
    // "other" is not an inbox: files of kinds no inbox takes, which the banner's note names.
    const inboxes = (data.runtime.inboxes || []).filter((inbox) => inbox.name !== "other");
    const rows = inboxes.map((inbox) => {
      const backlog = inbox.waiting + inbox.settling + inbox.processing;
      const busy = inbox.burst_total > 0 && inbox.burst_done < inbox.burst_total;
      const bar = el("div", { class: "progress", role: "progressbar", "aria-label": "Files of the " + inbox.name + " inbox done", "aria-valuemin": 0, "aria-valuemax": inbox.burst_total, "aria-valuenow": inbox.burst_done });
      const fill = el("div", { class: "fill" });
      fill.style.width = (inbox.burst_total > 0 ? Math.round(100 * inbox.burst_done / inbox.burst_total) : 0) + "%";
      bar.append(fill);
      return el("tr", { "data-inbox": inbox.name, "data-busy": busy ? "true" : "false" },
        el("th", { scope: "row", text: inbox.name }),
        el("td", { class: "num" }, figure("inbox-" + inbox.name + "-backlog", backlog),
          inbox.settling > 0 ? el("span", { class: "quiet small", text: inbox.settling + " still being written" }) : null),
        el("td", { class: "progress-cell" }, busy
          ? [bar, figure("inbox-" + inbox.name + "-progress", inbox.burst_done + " of " + inbox.burst_total)]
          : el("span", { class: "quiet", text: backlog === 0 ? "idle" : "queued" }),
          inbox.not_read > 0
            ? el("span", { class: "quiet small" }, " · ", figure("inbox-" + inbox.name + "-not-read", inbox.not_read), " not read by this version")
            : null));
    });
    const counts = data.documents;
    return panel("inboxes", "Inboxes",
      inboxes.length === 0 ? empty("No inboxes reported by the daemon.") : scroll(el("table", {},
        el("thead", {}, el("tr", {}, el("th", { text: "Inbox" }), el("th", { class: "num", text: "Backlog" }), el("th", { text: "Progress" }))),
        el("tbody", {}, rows))),
      el("p", { class: "counts" },
        figure("documents-total", counts.total), " documents so far: ",
        figure("documents-posted", counts.posted), " posted, ",
        figure("documents-rejected", counts.rejected), " rejected",
        // All-time counts: say how many rejections are still open, as the banner counts them.
        counts.rejected !== data.rejected.total
          ? [" (", figure("documents-rejected-open", data.rejected.total), " still need attention)"] : null,
        ", ", figure("documents-duplicate-number", counts.duplicate_number), counts.duplicate_number === 1 ? " duplicate number." : " duplicate numbers."));
  },

  problems(data) {
    // Files with the same trouble need the same doing: the advice is given in full at the
    // first of them, and the others point back to it rather than repeat it.
    // Beside another file of its name, a file lies in the rejected folder as "name (2).xml".
    const keptAs = (item) => {
      const kept = keptName(item);
      return kept !== item.name
        ? [" · in the rejected folder as ", figure("kept-as-" + item.id, shown(kept), { class: "figure name" })] : null;
    };
    const advisedAt = new Map();
    const todo = (item) => {
      const advice = item.what_to_do || "";
      if (!advice) return null;
      const first = advisedAt.get(advice);
      if (first !== undefined) {
        return el("p", { class: "todo again", text: first === shown(item.name) ? "as for the other file of this name above." : "as for " + first + " above." });
      }
      advisedAt.set(advice, shown(keptName(item)));
      return el("p", { class: "todo", text: advice });
    };
    const rejected = data.rejected.items.map((item) => {
      return el("li", { class: "problem", "data-rejected": item.name },
        el("div", { class: "line" },
          figure("rejected-name", shown(item.name), { class: "figure name" }),
          el("span", { class: "badge rejected", text: item.reason_code || "rejected" }),
          el("span", { class: "quiet" }, item.inbox + " · " + when(item.processed_at), keptAs(item))),
        figure("rejected-reason", shown(item.reason || ""), { class: "figure reason" }),
        todo(item),
        data.actions.enabled && item.can_retry ? retryButton(item, data) : null);
    });
    const duplicates = data.duplicates.items.map((item) =>
      el("li", { class: "problem", "data-duplicate": item.name },
        el("div", { class: "line" },
          figure("duplicate-name", shown(item.name), { class: "figure name" }),
          el("span", { class: "badge duplicate_number", text: "same number" }),
          el("span", { class: "quiet" }, item.inbox + " · " + when(item.processed_at), keptAs(item))),
        el("p", { class: "reason" }, "Already posted from ",
          figure("duplicate-original", item.original && item.original.name ? shown(item.original.name) : "an earlier document", { class: "figure name" }),
          item.original && item.original.processed_at ? " (" + when(item.original.processed_at) + ")" : "", "."),
        el("p", { class: "reason", text: shown(item.reason || "") }),
        todo(item)));
    const more = (list, shown, noun) => list.total > shown ? el("p", { class: "quiet", text: "…and " + (list.total - shown) + " more " + noun + "." }) : null;
    return panel("problems", "Needs attention",
      el("h3", {}, "Rejected files ", figure("rejected-count", data.rejected.total, { class: "figure count" })),
      rejected.length ? collapsed("rejected", rejected, 5, "rejected files", (xs) => el("ul", { class: "problems" }, xs)) : empty("No rejected files."),
      more(data.rejected, rejected.length, "rejected files"),
      el("h3", {}, "Duplicate invoice numbers ", figure("duplicates-count", data.duplicates.total, { class: "figure count" })),
      duplicates.length ? collapsed("duplicates", duplicates, 5, "duplicates", (xs) => el("ul", { class: "problems" }, xs)) : empty("No duplicate numbers."),
      more(data.duplicates, duplicates.length, "duplicates"));
  },

  to_do(data) {
    // Drawn only when there is something: a posting's note is no fault, and the panel would
    // otherwise say nothing.
    if (!data.to_do || data.to_do.total === 0) return null;
    const items = data.to_do.items.map((item) =>
      el("li", { class: "problem", "data-noted": item.name },
        el("div", { class: "line" },
          figure("noted-name", shown(item.name), { class: "figure name" }),
          el("span", { class: "quiet" }, "#" + item.id + " · " + item.inbox + " · " + when(item.processed_at))),
        figure("noted-note", shown(item.note), { class: "figure reason" }),
        data.actions.enabled
          ? el("p", {}, el("button", { type: "button", "data-key": "done-" + item.id, "aria-label": "Done: " + shown(item.name),
            onclick: () => act(data.actions.done, { document_id: item.id }), text: "Done" }))
          : null));
    const more = data.to_do.total - items.length;
    return panel("to_do", "Posted, with something to do by hand",
      el("p", { class: "quiet small" }, figure("to-do-count", data.to_do.total, { class: "figure count" }),
        data.to_do.total === 1 ? " document was" : " documents were",
        " posted as the invoice says; each note says what the books still need. When one is acted on, ",
        data.actions.enabled ? "its Done button or " : "",
        el("code", { text: "ledgerd done " + data.to_do.items[0].id }), " (its number) takes it off this list."),
      collapsed("to_do", items, 5, "documents", (xs) => el("ul", { class: "problems" }, xs)),
      more > 0 ? el("p", { class: "quiet", text: "…and " + more + " more (ledgerd status --all lists them all)." }) : null);
  },

  recent(data) {
    const shownCount = data.recent_documents.length;
    const total = data.documents.total + (data.documents.dropped_again || 0);
    return panel("recent", "Recent documents",
      shownCount ? [
        shownCount < total ? el("p", { class: "quiet small", "data-figure": "recent-of", text: "The latest " + shownCount + " of " + total.toLocaleString("en-US").replace(/,/g, " ") + " files taken in." }) : null,
        documentTable("recent", data.recent_documents, 15, "documents")]
        : empty("Nothing processed yet."));
  },

  outstanding(data) {
    // In the aging chart's order: most overdue first (`mostOverdueFirst`).
    const aged = (side) => new Map((side === "receivable" ? data.aging.receivables : data.aging.payables).parties
      .map((p) => [p.party + "\u0000" + p.currency, p]));
    const table = (side, unsorted, title, who) => {
      const ages = aged(side);
      const rows = unsorted.slice().sort((a, b) =>
        mostOverdueFirst(ages.get(a.party + "\u0000" + a.currency), ages.get(b.party + "\u0000" + b.currency))
        || (a.currency === b.currency ? b.open.minor - a.open.minor : 0)
        || (a.oldest_due_date || "~").localeCompare(b.oldest_due_date || "~") || a.party.localeCompare(b.party));
      const totals = data.outstanding.totals.filter((t) => t.side === side);
      if (rows.length === 0) return el("div", { class: "side", "data-side": side }, el("h3", { text: title }), empty("Nothing open."));
      const bodyRows = rows.map((row) =>
        el("tr", { "data-party": row.party, "data-currency": row.currency },
          el("th", { scope: "row", class: "party" }, shown(row.party),
            // On a phone, where the two columns after the amount are left out.
            el("span", { class: "phone-only quiet small", text: (row.oldest_due_date ? "oldest due " + row.oldest_due_date + " · " : "") + row.documents + (row.documents === 1 ? " document" : " documents") })),
          el("td", { class: "num" }, amount(row.open, "outstanding-" + side + "-" + row.party + "-" + row.currency)),
          el("td", { class: "num optional", text: row.documents }),
          el("td", { class: "nowrap optional", text: row.oldest_due_date || "—" })));
      const table = el("table", { class: "outstanding" },
        el("thead", {}, el("tr", {}, el("th", { text: who }), el("th", { class: "num", text: "Open" }), el("th", { class: "num optional", text: "Documents" }), el("th", { class: "optional", text: "Oldest due" }))),
        el("tbody", {}, bodyRows),
        el("tfoot", {}, totals.map((total) =>
          el("tr", { "data-total": side, "data-currency": total.currency },
            el("th", { scope: "row", text: "Total " + total.currency }),
            el("td", { class: "num" }, amount(total.open, "outstanding-total-" + side + "-" + total.currency)),
            el("td", { class: "num optional", text: total.documents }),
            el("td", { class: "optional" })))));
      return el("div", { class: "side", "data-side": side },
        el("h3", { text: title }),
        collapsedRows("outstanding-" + side, table, bodyRows, 12, who === "Customer" ? "customers" : "suppliers").map((node) => node === table ? scroll(table) : node));
    };
    return panel("outstanding", "Outstanding",
      el("p", { class: "quiet small", "data-figure": "outstanding-note", text: "Invoiced amounts: ledgerd records no payments yet, so what is paid outside it still shows here." }),
      el("div", { class: "sides" },
        table("receivable", data.outstanding.receivables, "Customers owe us", "Customer"),
        table("payable", data.outstanding.payables, "We owe suppliers", "Supplier")));
  },

  aging(data) {
    const aging = data.aging;
    const legend = el("ul", { class: "legend" }, aging.buckets.map((b, i) =>
      el("li", {}, el("span", { class: "swatch b" + i }), b.label)));
    const chart = (sideKey, side, title) => {
      // Per currency: the total (when there is more than one party), then each party.
      const currencies = [...new Set(side.totals.map((t) => t.currency))];
      const rows = currencies.flatMap((currency) => {
        const parties = side.parties.filter((p) => p.currency === currency);
        const total = side.totals.filter((t) => t.currency === currency).map((t) => Object.assign({ total_row: true }, t));
        return (parties.length > 1 ? total : []).concat(parties);
      });
      if (rows.length === 0) return el("div", { class: "side", "data-side": sideKey }, el("h3", { text: title }), empty("Nothing open."));
      // Bars are scaled per currency to the largest row's positive sum.
      const scale = {};
      for (const row of rows) {
        const positive = row.buckets.reduce((s, b) => s + Math.max(0, b.minor), 0);
        scale[row.currency] = Math.max(scale[row.currency] || 0, positive);
      }
      const chartRow = (row) => {
        const name = row.total_row ? "All " + (sideKey === "receivable" ? "customers" : "suppliers") : row.party;
        const key = "aging-" + sideKey + "-" + (row.total_row ? "total" : row.party) + "-" + row.currency;
        const bar = el("div", { class: "bar", role: "img", "aria-label": shown(name) + ": " + row.buckets.map((b, i) => aging.buckets[i].label + " " + b.formatted).join(", ") });
        row.buckets.forEach((b, i) => {
          if (b.minor <= 0 || !scale[row.currency]) return;
          const segment = el("div", { class: "seg b" + i, title: aging.buckets[i].label + ": " + b.formatted, "data-bucket": aging.buckets[i].id });
          segment.style.width = (100 * b.minor / scale[row.currency]).toFixed(2) + "%";
          bar.append(segment);
        });
        return el("div", { class: "chart-row" + (row.total_row ? " total" : ""), "data-party": row.total_row ? "" : row.party, "data-currency": row.currency },
          el("div", { class: "label" }, el("span", { class: "who", text: shown(name) }), " ", amount(row.total, key + "-sum")),
          bar,
          el("dl", { class: "buckets" }, row.buckets.map((b, i) => [
            el("dt", { class: b.minor === 0 ? "zero" : null, text: aging.buckets[i].label }),
            el("dd", { class: b.minor === 0 ? "zero" : null }, amount(b, key + "-" + aging.buckets[i].id))])),
          row.without_due_date > 0 ? el("p", { class: "quiet small", text: row.without_due_date + " without a due date (taken as due 30 days after issue)" }) : null);
      };
      // Per currency: its total always shown, then its first parties, the rest behind a button.
      const noun = sideKey === "receivable" ? "customers" : "suppliers";
      const groups = currencies.map((currency) => {
        const group = rows.filter((row) => row.currency === currency);
        const totals = group.filter((row) => row.total_row).map(chartRow);
        const parties = group.filter((row) => !row.total_row).sort((a, b) =>
          mostOverdueFirst(a, b) || a.party.localeCompare(b.party)).map(chartRow);
        return [totals, collapsed("aging-" + sideKey + "-" + currency, parties, 12, noun + " in " + currency, (xs) => el("div", { class: "rows" }, xs))];
      });
      return el("div", { class: "side", "data-side": sideKey }, el("h3", { text: title }), groups);
    };
    return panel("aging", "Aging of open invoices (as of " + aging.as_of + ")",
      legend,
      el("div", { class: "sides" },
        chart("receivable", aging.receivables, "Receivables by customer"),
        chart("payable", aging.payables, "Payables by supplier")),
      el("p", { class: "quiet rule", text: aging.rule }));
  },

  reconciliation(data) {
    const r = data.reconciliation;
    const rows = r.lines.map((line) =>
      el("tr", { "data-account": line.account, "data-currency": line.currency, "data-agrees": line.agrees ? "true" : "false" },
        el("th", { scope: "row", text: line.account + " " + line.account_name }),
        el("td", { class: "currency", "data-label": "Currency", text: line.currency }),
        el("td", { class: "num", "data-label": "General ledger" }, amount(line.general_ledger, "reconciliation-" + line.account + "-" + line.currency + "-gl")),
        el("td", { class: "num", "data-label": "Sub-ledger" }, amount(line.sub_ledger_total, "reconciliation-" + line.account + "-" + line.currency + "-sub")),
        el("td", { class: "num", "data-label": "Difference" }, amount(line.difference)),
        el("td", { class: "verdict-cell" }, figure("reconciliation-" + line.account + "-" + line.currency + "-verdict", line.agrees ? "agrees" : "DISAGREES",
          { class: "figure badge " + (line.agrees ? "posted" : "rejected") }))));
    const explained = r.lines.flatMap((line) => line.explained_by.map((e) =>
      el("li", {}, e.date + " · " + e.source + " · entry " + e.entry_id + " · " + e.description + " · ", amount(e.amount))));
    return panel("reconciliation", "General ledger vs sub-ledgers",
      el("p", { class: "verdict", "data-agrees": r.agrees ? "true" : "false" },
        figure("reconciliation-verdict", r.agrees ? "agrees" : "DISAGREES", { class: "figure badge " + (r.agrees ? "posted" : "rejected") }),
        " ", figure("reconciliation-balanced", balancedText(r)),
        r.checked_at ? el("span", { class: "quiet" }, " · checked ", figure("reconciliation-checked", when(r.checked_at))) : null),
      rows.length ? scroll(el("table", { class: "cards" },
        el("thead", {}, el("tr", {}, ["Account", "Currency", "General ledger", "Sub-ledger", "Difference", ""].map((t, i) => el("th", { class: i >= 2 && i <= 4 ? "num" : null, text: t })))),
        el("tbody", {}, rows))) : empty("No postings on the control accounts yet."),
      explained.length ? [el("h3", { text: "Explained by entries without a sub-ledger entry" }), el("ul", { class: "plain" }, explained)] : null);
  },

  daemon(data) {
    const rt = data.runtime;
    const h = data.health;
    const state = (ok) => el("span", { class: "badge " + (ok ? "posted" : "rejected"), text: ok ? "running" : "stopped" });
    const facts = [
      ["Health", figure("health", h.ok ? "ok" : "unhealthy", { class: "figure badge " + (h.ok ? "posted" : "rejected") })],
      ["Up for", figure("uptime", duration(h.uptime_seconds))],
      ["Started", when(rt.started_at)],
      ["Watching", figure("watch-mode", rt.watch_mode)],
      ["Last rescan", figure("last-rescan", when(rt.last_rescan))],
      ["Watcher", state(h.watcher)],
      ["Scheduler", state(h.scheduler)],
      ["Database", el("span", { class: "badge " + (h.database ? "posted" : "rejected"), text: h.database ? "readable" : "unreadable" })],
    ];
    return panel("daemon", "ledgerd itself",
      el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])),
      h.reasons.length ? el("ul", { class: "plain errors" }, h.reasons.map((r) => el("li", { text: r }))) : null,
      el("h3", {}, "Recent errors ", figure("errors-count", rt.recent_errors.length, { class: "figure count" })),
      rt.recent_errors.length ? el("ul", { class: "plain errors" }, rt.recent_errors.slice(0, 20).map((e) => el("li", { text: e }))) : empty("None."),
      el("h3", { text: "Actions" }),
      data.actions.enabled
        ? el("p", {}, el("button", { type: "button", "data-key": "rescan", onclick: () => act(data.actions.rescan, {}), text: "Rescan inboxes now" }), " ",
          el("button", { type: "button", class: "link", "data-key": "forget-password", onclick: forgetToken, text: "forget password" }))
        : el("p", { class: "quiet", "data-figure": "actions", text: "The page's buttons (Retry, Rescan) are off until whoever runs ledgerd sets an API token in its configuration. Meanwhile, a file is tried again by moving it back into its inbox." }),
      el("h3", { text: "Recent activity" }),
      data.activity.length
        ? el("ul", { class: "plain activity" }, data.activity.map((a, i) =>
          el("li", {}, el("time", { datetime: a.at, text: when(a.at) }), " ",
            figure("activity-" + i, ACTIVITY[a.action] || a.action), a.detail ? " — " + shown(a.detail) : "",
            el("span", { class: "quiet", text: " · " + shown(a.actor) }))))
        : empty("Nothing recorded yet."));
  },
};

/// How the audit log's actions read on the page.
const ACTIVITY = {
  daemon_started: "started",
  daemon_stopped: "stopped",
  retry: "retry",
  rescan: "rescan",
  backup: "backup",
  ingest: "ingest run",
  note_done: "note done",
};

// ---------- refresh loop ----------

let timer = null;
let refreshes = 0;  // how many looks at /api/status were asked for

/// Whether the reader is selecting text on the panels (to copy a name, say): the panels are
/// then left as they are for a few refreshes (half a minute), not for as long as the
/// selection lasts, or they would go on showing old figures under a new banner.
const SELECTION_HOLDS = 6;
let heldForSelection = 0;
function selecting(main) {
  const selection = window.getSelection();
  return selection && !selection.isCollapsed && main.contains(selection.anchorNode);
}

/// The company's name at the top, and in the tab's title with how things stand, so a tab left
/// open says at a glance whether anything needs attention.
const TITLE_MARK = { ok: "✓", attention: "!", error: "✗" };
function renderTitle(data) {
  const company = data.company ? data.company : "";
  document.getElementById("company").textContent = company;
  document.title = (TITLE_MARK[data.overall.status] ? TITLE_MARK[data.overall.status] + " " : "")
    + (company ? company + " · " : "") + "ledgerd";
}

/// A button's answer stays at the foot of the window until it is a few refreshes old: long
/// enough to read a rejection's reason.
const RESULT_SHOWN_MS = 20000;
let resultShownAt = 0;
function clearOldResult() {
  const output = document.getElementById("action-result");
  if (output.textContent && Date.now() - resultShownAt > RESULT_SHOWN_MS) output.textContent = "";
}

function render(data, asked) {
  renderTitle(data);
  renderOverall(data);
  clearOldResult();
  followRetried(data, asked);
  // A search shown is run again when files were taken in since: not at every refresh, as it
  // reads every name in the books, nor at the first, which comes after the search (or with it,
  // for a page opened with ?find=).
  const newest = data.recent_documents[0];
  const taken = [data.documents.total, data.documents.dropped_again, newest && newest.processed_at, newest && newest.name].join("/");
  if (searched && searchedAt && taken !== searchedAt) find(searched, true);
  searchedAt = taken;
  const main = document.getElementById("panels");
  if (selecting(main) && heldForSelection < SELECTION_HOLDS) {
    heldForSelection += 1;
    return;
  }
  heldForSelection = 0;
  // What the reader had in hand is given back after the redraw: each table's sideways
  // scroll (a wide table on a phone) and the focused button.
  const scrolled = [...main.querySelectorAll(".scroll")].map((node) =>
    [node.closest("[data-panel]")?.dataset.panel, node.scrollLeft]);
  const focused = main.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  const sections = [];
  for (const id of data.panels) {
    const renderer = renderers[id];
    if (!renderer) continue;
    try {
      const section = renderer(data);
      if (section) sections.push(section);
    } catch (e) {
      sections.push(panel(id, id, el("p", { class: "errors", text: "This panel could not be drawn: " + e.message })));
    }
  }
  main.replaceChildren(...sections);
  const scrolls = [...main.querySelectorAll(".scroll")];
  scrolled.forEach(([panelId, left], i) => {
    if (left > 0 && scrolls[i] && scrolls[i].closest("[data-panel]")?.dataset.panel === panelId) scrolls[i].scrollLeft = left;
  });
  if (focused) main.querySelector("[data-key=\"" + CSS.escape(focused) + "\"]")?.focus();
  document.body.classList.remove("stale");
  const updated = document.getElementById("updated");
  updated.textContent = "updated " + new Date().toLocaleTimeString();
  updated.dataset.generatedAt = data.generated_at;
}

async function refresh() {
  clearTimeout(timer);
  const asked = ++refreshes;
  try {
    const response = await fetch("/api/status", { cache: "no-store", credentials: "omit", headers: { "Accept": "application/json" } });
    if (!response.ok) throw new Error("ledgerd answered HTTP " + response.status + ".");
    render(await response.json(), asked);
  } catch (e) {
    renderUnreachable(e instanceof TypeError ? "The page got no answer from ledgerd." : e.message);
  } finally {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

// ---------- finding a file ----------

/// What became of a file dropped some time ago, which the recent documents no longer list:
/// the documents and files dropped again whose name holds what was typed. `?find=name` in the
/// address runs the search at once (a link to it can be kept or sent). The search is run again,
/// quietly, when files were taken in since, so a file that arrives meanwhile shows; only the
/// answer to the latest search is shown, whichever comes back first.
let searched = "";
let searchedAt = "";
let searches = 0;
async function find(name, quietly) {
  const found = document.getElementById("found");
  searched = name;
  const mine = ++searches;
  if (!quietly) {
    const url = new URL(location.href);
    if (name) url.searchParams.set("find", name); else url.searchParams.delete("find");
    history.replaceState(null, "", url);
  }
  if (!name) { found.hidden = true; found.replaceChildren(); return; }
  found.hidden = false;
  if (!quietly) found.replaceChildren(el("p", { class: "quiet", text: "Looking for " + shown(name) + "…" }));
  let answer, failure;
  try {
    const response = await fetch("/api/documents?name=" + encodeURIComponent(name), { cache: "no-store", credentials: "omit" });
    answer = await response.json();
    if (!response.ok) failure = answer.error || "HTTP " + response.status;
  } catch (e) {
    failure = e instanceof TypeError ? "no answer from ledgerd." : e.message;
  }
  if (mine !== searches) return;  // a later search was asked for meanwhile
  if (failure) {
    if (!quietly) found.replaceChildren(el("p", { class: "errors", text: "Could not search: " + failure }));
    return;
  }
  // Beside the details: where a rejected file lies, and what to do about it.
  const more = (doc) => [
    keptName(doc) !== doc.name ? el("p", { class: "quiet small", text: "In the rejected folder as " + shown(keptName(doc)) + "." }) : null,
    doc.what_to_do && doc.state !== "posted" ? el("p", { class: "quiet small", text: "What to do: " + doc.what_to_do }) : null];
  const close = el("button", { type: "button", class: "link", text: "Close", onclick: () => {
    const input = document.getElementById("find-name");
    input.value = "";
    find("");
    input.focus();
  } });
  const listed = answer.items.length;
  const said = answer.total === 0 ? "No file whose name holds " + shown(name) + "."
    : answer.total + (answer.total === 1 ? " file" : " files") + " whose name holds " + shown(name)
      + (answer.total > listed ? "; the newest " + listed + " below." : ".");
  found.replaceChildren(...[
    el("h2", {}, "Found ", close),
    el("p", { "aria-live": "polite" }, figure("found-count", said, { class: "quiet" })),
    ...(listed ? documentTable("found", answer.items, 10, "files", more) : [])]);
}

document.getElementById("password-cancel").addEventListener("click", () => {
  document.getElementById("password").close("");
});
document.getElementById("find").addEventListener("submit", (event) => {
  event.preventDefault();
  find(document.getElementById("find-name").value.trim());
});
{
  const asked = new URLSearchParams(location.search).get("find");
  if (asked) { document.getElementById("find-name").value = asked; find(asked); }
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
// A button's answer, floating over the page, goes when clicked.
document.getElementById("action-result").addEventListener("click", (event) => { event.currentTarget.textContent = ""; });
refresh();
