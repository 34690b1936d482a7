/* Plotly charts on a page drawn at 2x by CSS zoom (4K screens: assets/cockpit.css).

   Plotly measures its text in a hidden tester appended to <body> (cockpit.css gives it zoom 0.5, so
   it measures in the chart's own pixels), and maps a pointer to the chart by the pointer's distance
   from the chart's box times the inverse of the CSS *transforms* around the chart: CSS zoom is no
   transform, so under zoom 2 a click landed twice as far into the chart as it was. Before Plotly's
   own handlers see a pointer event on a chart (capture phase), the chart's inverse transform is set
   to the page's zoom, with the box it was computed for, which Plotly keeps while the box holds. */
(function () {
    function pageZoom() {
        var z = parseFloat(window.getComputedStyle(document.documentElement).zoom);
        return z > 0 ? z : 1;
    }
    function unzoom(e) {
        var gd = e.target && e.target.closest && e.target.closest(".js-plotly-plot");
        var layout = gd && gd._fullLayout;
        var z = pageZoom();
        if (!layout || z === 1) { return; }
        var inv = 1 / z;
        layout._invTransform = [[inv, 0, 0, 0], [0, inv, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
        layout._invScaleX = inv;
        layout._invScaleY = inv;
        layout._lastBBox = gd.getBoundingClientRect();
    }
    ["mousemove", "mousedown", "mouseup", "click", "pointerdown", "pointermove", "touchstart"].forEach(function (type) {
        document.addEventListener(type, unzoom, true);
    });
})();
