// A device's commands page: while a command is on its way (pending or sent), the history's
// status, answer and end are read again every 2 s from the page's JSON view, until each ends.
"use strict";

(function () {
  const table = document.querySelector("[data-testid=command-history]");
  if (!table || table.dataset.following !== "yes") return;
  const OPEN = ["pending", "sent"];
  const url = `${window.location.pathname}/history.json`;

  function when(value) {
    if (!value) return document.createTextNode("—");
    const time = document.createElement("time");
    time.dateTime = value;
    time.textContent = `${value.slice(0, 16).replace("T", " ")} UTC`;
    return time;
  }

  function answer(command) {
    if (command.error) return document.createTextNode(command.error);
    if (command.result === null || command.result === undefined) return document.createTextNode("—");
    const code = document.createElement("code");
    code.textContent = JSON.stringify(command.result);
    return code;
  }

  async function poll() {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) return false;
    const { items } = await response.json();
    for (const command of items) {
      const row = table.querySelector(`tr[data-command-id="${command.id}"]`);
      if (!row) continue;
      const badge = row.querySelector("[data-testid=command-status]");
      if (badge.textContent === command.status) continue;
      badge.textContent = command.status;
      badge.className = `badge command-${command.status}`;
      row.querySelector("[data-testid=command-answer]").replaceChildren(answer(command));
      row.querySelector("[data-testid=command-ended]").replaceChildren(when(command.completedAt));
    }
    return items.some((command) => OPEN.includes(command.status));
  }

  async function follow() {
    let open = true;
    try {
      open = await poll();
    } catch (error) {
      open = true; // a network hiccup: try again
    }
    if (open) window.setTimeout(follow, 2000);
    else table.dataset.following = "no";
  }
  window.setTimeout(follow, 1000);
})();
