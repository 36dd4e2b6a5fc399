// The alarm console: when the live stream tells of an alarm of this system raised or cleared,
// the alarms table is read again from the page itself (one rendering, the server's), keeping
// any note an operator is typing.
"use strict";

(function () {
  const settings = document.getElementById("alarms-live");
  if (!settings || !window.iCityLive) return;
  const { system } = JSON.parse(settings.textContent);

  async function refresh(data) {
    const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("alarms");
    const current = document.getElementById("alarms");
    if (!fresh || !current) return;
    const typed = {};
    current.querySelectorAll("textarea").forEach((note) => { if (note.value) typed[note.id] = note.value; });
    const focused = document.activeElement && current.contains(document.activeElement) ? document.activeElement.id : null;
    current.replaceWith(fresh);
    Object.entries(typed).forEach(([id, value]) => { const note = document.getElementById(id); if (note) note.value = value; });
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    const told = document.getElementById("live-alarms");
    const entity = data.entity || {};
    told.textContent = `${entity.name || "An alarm"} is ${entity.alarmState || "changed"}: ${entity.description || ""}`;
    told.hidden = false;
  }

  const source = window.iCityLive.follow({ system, kind: "alarm" }, (data) => { refresh(data); });
  source.addEventListener("open", () => { document.body.dataset.liveAlarms = "following"; });
})();
