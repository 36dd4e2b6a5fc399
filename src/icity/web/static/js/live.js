// The portal's live updates: pages follow changes through /live/events (web/pages/live.py).
// iCityLive.follow({system, type, kind}, onChange) opens the stream and calls onChange with each
// change ({kind, id, type, informationSystem, city, location, entity, changed}); EventSource
// reconnects by itself. Returns the EventSource (close() it to stop).
(function () {
  "use strict";
  function follow(params, onChange) {
    const query = new URLSearchParams();
    Object.entries(params || {}).forEach(([name, value]) => { if (value) query.set(name, value); });
    const text = query.toString();
    const source = new EventSource("/live/events" + (text ? "?" + text : ""));
    source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
    return source;
  }
  window.iCityLive = { follow };
})();
