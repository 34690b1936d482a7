/* AG Grid cell renderers. Values are rendered as text (React escapes them); links are always local. */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.TicketLink = function (props) {
    var id = props.value == null ? "" : String(props.value);
    return React.createElement("a", {href: "/tickets/" + encodeURIComponent(id), className: "ck-ticket-link"}, id);
};
