/* Map functions referenced by name from layouts/choropleth.py (dash-leaflet resolves
   {"variable": "dashExtensions.cockpit.<name>"} on window). Colours are computed in Python. */
window.dashExtensions = window.dashExtensions || {};
window.dashExtensions.cockpit = Object.assign(window.dashExtensions.cockpit || {}, {
    regionStyle: function (feature) {
        var p = (feature && feature.properties) || {};
        return {fillColor: p._fill || "#3a4458", fillOpacity: 0.85, color: "#9fb3c8", weight: 1, opacity: 0.9};
    },
    regionHover: function () {
        return {weight: 3, color: "#ffffff", fillOpacity: 0.95};
    }
});

/* Every Leaflet map follows its box's size. dash-leaflet fits a screen map to its bounds once, when
   it mounts; a box that changes size later (a grid row sized from the column's width, fonts or the
   panel above settling, the window resized) left the map drawn for the old size: partly outside its
   box or with empty bands. Leaflet itself only follows window resizes, and keeps the centre there.

   A ResizeObserver on each map's container (added as Leaflet creates the map, so maps that Dash
   renders later or that the screen stream paints with set_props are covered alike) tells Leaflet
   the new size once per animation frame. A map inside an element carrying data-ck-fit
   ({"bounds": [[s, w], [n, e]], "padding": px}, set by layouts/choropleth.py on screen maps) is then
   fitted to those bounds again; any other map (the ticket page's) keeps the centre and zoom its user
   chose. Leaflet is dash-leaflet's own copy (window.L), loaded before the assets. */
(function () {
    var L = window.L;
    if (!L || !L.Map || typeof ResizeObserver === "undefined" || L.Map.ckFollowsBox) { return; }
    L.Map.ckFollowsBox = true;

    function fitOf(container) {
        var holder = container.closest("[data-ck-fit]");
        if (!holder) { return null; }
        try {
            var fit = JSON.parse(holder.getAttribute("data-ck-fit"));
            return fit && fit.bounds ? fit : null;
        } catch (e) {
            return null;
        }
    }

    function follow(map) {
        var container = map.getContainer();
        if (!map._loaded || !container.isConnected || !container.clientWidth || !container.clientHeight) {
            return;
        }
        var fit = fitOf(container);
        map.invalidateSize({pan: !fit, animate: false});
        if (fit) {
            var pad = fit.padding || 0;
            map.fitBounds(fit.bounds, {padding: [pad, pad], animate: false});
        }
    }

    L.Map.addInitHook(function () {
        var map = this;
        var frame = 0, animating = false, waiting = false;
        function schedule() {
            if (frame) { return; }
            frame = window.requestAnimationFrame(function () {
                frame = 0;
                /* Leaflet drops a view asked during a zoom animation (dash-leaflet's fit at mount is
                   one) and ends on the animation's target: follow the box once it has ended */
                if (animating) {
                    if (!waiting) {
                        waiting = true;
                        map.once("zoomend", function () { waiting = false; schedule(); });
                    }
                    return;
                }
                follow(map);
            });
        }
        var observer = new ResizeObserver(schedule);
        observer.observe(map.getContainer());
        map.on("zoomanim", function () { animating = true; });
        map.on("zoomend", function () { animating = false; });
        map.on("unload", function () {
            observer.disconnect();
            if (frame) { window.cancelAnimationFrame(frame); frame = 0; }
        });
    });
})();
