/* Wall screens: clock, per-panel freshness ("stale" by the browser's own clock, so it works even
   when the server is gone), the push stream with its polling fallback, map drill-down and the kiosk
   playlist. Referenced by name from callbacks/wall.py and callbacks/province.py. */
window.dash_clientside = window.dash_clientside || {};

/* The screen's push stream (callbacks/screen_stream.py): one EventSource per screen page. Each
   "payload" event carries the refresh callback's outputs, applied with set_props; while it
   delivers, gateRefresh asks the server nothing. A "failed" event (the server cannot reach Redis)
   marks every panel failed at once over the last good values, and the stream goes on delivering
   until a payload replaces it. A "poll" event (an incomplete tick), an error, a refusal or silence
   sends the gate back to polling at its next tick, so last good values, stale and failed marking
   stay the refresh callback's, as without the stream. */
var ckStreams = {};
var CK_STREAM_FRESH_MS = 3000;  /* the stream delivers: its last payload is newer than this */
var CK_STREAM_CONNECT_MS = 1500;  /* a new stream's first payload is awaited this long before polling */
var CK_STREAM_RETRY_MS = 30000;  /* a refused or ended stream is tried again after this long */

function ckStreamApply(msg) {
    var set = window.dash_clientside.set_props;
    msg.o.forEach(function (item) {
        var props = {};
        props[item[1]] = item[2];
        set(item[0], props);
    });
}

/* The gate asks a refresh at once (not at its next tick) when a stream fails before it painted the
   screen, so a screen whose stream is refused or broken is painted by polling without delay. */
function ckKick(s) {
    if (!s.painted && !s.kicked && window.dash_clientside.set_props) {
        s.kicked = true;
        window.dash_clientside.set_props(s.page + "-kick", {data: Date.now()});
    }
}

function ckStreamOpen(url, openUrl, page) {
    var s = {url: url, page: page, opened: Date.now(), last: 0, closedAt: 0, painted: false, kicked: false,
             failed: false, es: new EventSource(openUrl)};
    s.es.addEventListener("payload", function (e) {
        var msg = JSON.parse(e.data);
        ckStreamApply(msg);
        s.last = Date.now();
        s.at = msg.at;
        s.painted = true;
        s.failed = false;
    });
    /* the server cannot reach its sources: the panel meta (last good as-of times, every panel
       failed) and the failed status badge; the figures stay. The stream still delivers (it says
       so every tick), so the screen does not poll for the same answer; a screen it has not painted
       yet polls (its own callback paints what the sources that answer can give). */
    s.es.addEventListener("failed", function (e) {
        ckStreamApply(JSON.parse(e.data));
        s.failed = true;
        if (s.painted) { s.last = Date.now(); } else { s.last = 0; ckKick(s); }
    });
    s.es.addEventListener("poll", function () { s.last = 0; ckKick(s); });
    s.es.addEventListener("ended", function () { s.es.close(); s.closedAt = Date.now(); s.last = 0; ckKick(s); });
    s.es.onerror = function () {
        s.last = 0;
        if (s.es.readyState === 2) { s.closedAt = Date.now(); }
        ckKick(s);
    };
    return s;
}

function ckStream(cfg, mode, sig) {
    if (!cfg || !cfg.page || !cfg.code || typeof EventSource === "undefined" ||
            !window.dash_clientside.set_props) { return null; }
    var url = "/screens/stream?page=" + encodeURIComponent(cfg.page) + "&code=" + encodeURIComponent(cfg.code) +
        "&lang=" + encodeURIComponent(cfg.lang || "zh") + (mode ? "&mode=" + encodeURIComponent(mode) : "") +
        (cfg.kiosk ? "&kiosk=1" : "");
    var s = ckStreams[cfg.page];
    if (s && s.url !== url) { s.es.close(); s = null; }
    if (s && s.es.readyState === 2 && Date.now() - s.closedAt > CK_STREAM_RETRY_MS) { s = null; }
    /* the map this screen shows: the stream leaves it out until it changes */
    if (!s) {
        s = ckStreams[cfg.page] = ckStreamOpen(url, sig ? url + "&sig=" + encodeURIComponent(sig) : url, cfg.page);
    }
    return s;
}

/* A page the browser leaves gives its stream back at once. Chrome keeps a page it leaves in its
   back/forward cache with its EventSource open, and over HTTP/1.1 a browser opens at most six
   connections to a host: five screens visited before (a drill from the province to a wall and on)
   held five, the sixth screen's stream took the last, and its map's shapes (dash-leaflet's lazy
   GeoJSON chunk, asked after the first payload) waited for a free connection, the map "Loading..."
   for as long as those pages stayed cached. A page shown again from that cache opens a new stream
   at its next tick (ckStream finds none), which sends the map again only if it changed. */
window.addEventListener("pagehide", function () {
    Object.keys(ckStreams).forEach(function (page) {
        ckStreams[page].es.close();
        delete ckStreams[page];
    });
});

window.dash_clientside.cockpit = Object.assign(window.dash_clientside.cockpit || {}, {
    screenTick: function (_n, metas, configs) {
        var cfg = (configs && configs[0]) || {};
        var meta = (metas && metas[0]) || {};
        var labels = cfg.labels || {};
        var locale = cfg.locale || "zh-CN";
        var tz = cfg.tz || "Asia/Shanghai";
        var now = Date.now();
        var fmtTime = new Intl.DateTimeFormat(locale, {timeZone: tz, hour: "2-digit", minute: "2-digit",
                                                       second: "2-digit", hour12: false});
        var fmtDate = new Intl.DateTimeFormat(locale, {timeZone: tz, year: "numeric", month: "2-digit",
                                                       day: "2-digit", weekday: "short"});
        var clock = fmtDate.format(now) + "  " + fmtTime.format(now);
        var ctx = window.dash_clientside.callback_context;
        var panels = ctx.outputs_list[1] || [];
        var classes = [], asOf = [];
        panels.forEach(function (out) {
            var name = out.id.index;
            var m = meta[name] || {};
            var cls = "ck-wall-panel ck-wall-" + name;
            var text = "";
            /* one short word before the time ("数据过期 10:59:34"), so the badge leaves the title room */
            var word = labels.as_of || "";
            if (m.as_of_ms && m.max_age_ms && now - m.as_of_ms > m.max_age_ms) {
                cls += " ck-stale";
                word = labels.stale || "stale";
            }
            if (m.failed) {
                cls += " ck-failed";
                word = labels.failed || "failed";
            }
            if (m.as_of_ms) {
                text = word + " " + fmtTime.format(m.as_of_ms);
            } else if (m.failed) {
                text = word;
            }
            classes.push(cls);
            asOf.push(text);
        });
        return [clock, classes, asOf];
    },
    gateRefresh: function (_n, _kick, request, done, cfg, mode, sig) {
        /* Nothing while the push stream delivers (or a new one is about to); else a new request
           {n, at} unless the previous one is still unanswered (and under 15 s old). The stream
           opens at the screen's first tick and paints it (its first payload carries the map), so a
           screen that connects asks no refresh at all while the stream delivers; one that does not
           deliver within CK_STREAM_CONNECT_MS is painted by a refresh, as without the stream. */
        var now = Date.now();
        var s = ckStream(cfg, mode, sig);
        if (s && s.last && now - s.last < CK_STREAM_FRESH_MS) { return window.dash_clientside.no_update; }
        if (s && !s.last && s.es.readyState === 0 && now - s.opened < CK_STREAM_CONNECT_MS) {
            return window.dash_clientside.no_update;
        }
        var pending = request && (!done || done.n !== request.n);
        if (pending && now - request.at < 15000) { return window.dash_clientside.no_update; }
        return {n: (request ? request.n : 0) + 1, at: now};
    },
    drillDistrict: function (clickData, cfg) {
        var code = clickData && clickData.properties && clickData.properties.code;
        if (!code || !cfg || !cfg.supervise) { return window.dash_clientside.no_update; }
        window.location.assign("/supervise?city=" + encodeURIComponent(cfg.code) + "&district=" +
                               encodeURIComponent(code) + "&lang=" + encodeURIComponent(cfg.lang || "zh"));
        return code;
    },
    drillCity: function (clickData, cfg) {
        var code = clickData && clickData.properties && clickData.properties.code;
        if (!code || !cfg) { return window.dash_clientside.no_update; }
        var query = "?lang=" + encodeURIComponent(cfg.lang || "zh") + (cfg.kiosk ? "&kiosk=1" : "");
        window.location.assign("/wall/" + encodeURIComponent(code) + query);
        return code;
    },
    playlistNext: function (n, cfg) {
        var urls = (cfg && cfg.urls) || [];
        if (!urls.length) { return window.dash_clientside.no_update; }
        return urls[(n || 0) % urls.length];
    }
});
