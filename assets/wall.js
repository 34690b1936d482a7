/* Wall screens: clock, per-panel freshness ("stale" by the browser's own clock, so it works even
   when the server is gone), map drill-down and the kiosk playlist. Referenced by name from
   callbacks/wall.py and callbacks/province.py. */
window.dash_clientside = window.dash_clientside || {};
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
    gateRefresh: function (_n, request, done) {
        /* A new request {n, at} unless the previous one is still unanswered (and under 15 s old). */
        var now = Date.now();
        var pending = request && (!done || done.n !== request.n);
        if (pending && now - request.at < 15000) { return window.dash_clientside.no_update; }
        return {n: (request ? request.n : 0) + 1, at: now};
    },
    drillDistrict: function (clickData, cfg) {
        var code = clickData && clickData.properties && clickData.properties.code;
        if (!code || !cfg) { return window.dash_clientside.no_update; }
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
