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
