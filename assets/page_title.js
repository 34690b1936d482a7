/* The browser tab's title in the page's language: the app's <title> is the configured language's, so an
   English page (?lang=en) kept a Chinese tab title. The routing callback writes the language to
   app-lang; this copies the matching title from app-titles (layouts/shell.py) into document.title. */
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.cockpit = Object.assign(window.dash_clientside.cockpit || {}, {
    pageTitle: function (lang, titles) {
        var title = titles && lang && titles[lang];
        if (title && document.title !== title) { document.title = title; }
        return window.dash_clientside.no_update;
    }
});
