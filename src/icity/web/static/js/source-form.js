// The source form: choosing another connector kind swaps in that kind's example settings and
// mapping (its standard mapping when it has one) — unless the admin already edited them.
"use strict";

(function () {
  const kind = document.getElementById("kind");
  const data = document.getElementById("source-examples");
  if (!kind || !data) return;
  const examples = JSON.parse(data.textContent);
  const fields = ["settings", "mapping"].map((name) => document.getElementById(name));
  let previous = kind.value;
  kind.addEventListener("change", () => {
    const before = examples[previous] || {};
    const after = examples[kind.value] || {};
    for (const field of fields) {
      const untouched = field.value.trim() === "" || field.value.trim() === (before[field.id] || "").trim();
      if (untouched) field.value = after[field.id] || "";
    }
    previous = kind.value;
  });
})();
