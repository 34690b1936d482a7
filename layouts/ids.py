"""Every component id, once. Values are kebab-case with a page prefix."""

URL = "app-url"
PAGE = "app-page"
LANG_STORE = "app-lang"
TITLES = "app-titles"  # the browser tab's title per language; assets/page_title.js sets the one of the page

HOME_TABLE = "home-table"
HOME_REFRESH = "home-refresh"
HOME_AS_OF = "home-as-of"

WALL_ROOT = "wall-root"
WALL_REFRESH = "wall-refresh"
WALL_REQUEST = "wall-request"  # refresh gate: the request a tick made
WALL_DONE = "wall-done"  # refresh gate: the last request answered
WALL_KICK = "wall-kick"  # refresh gate: the push stream failed before painting (assets/wall.js)
WALL_TICK = "wall-tick"
WALL_CLOCK = "wall-clock"
WALL_TITLE = "wall-title"
WALL_STATUS = "wall-status"
WALL_META = "wall-meta"  # pattern id type: {"type": WALL_META, "index": "wall" | "province"}
WALL_CONFIG = "wall-config"  # pattern id type, like WALL_META
WALL_PANEL = "wall-panel"  # pattern id type: {"type": WALL_PANEL, "index": panel}
WALL_BODY = "wall-body"  # pattern id type: {"type": WALL_BODY, "index": panel}
WALL_AS_OF = "wall-as-of"  # pattern id type: {"type": WALL_AS_OF, "index": panel}
WALL_MAP_MODE = "wall-map-mode"
WALL_MAP_SIG = "wall-map-sig"
WALL_MAP_GEO = "wall-map-geo"
WALL_DRILL = "wall-drill"

PROVINCE_ROOT = "province-root"
PROVINCE_REFRESH = "province-refresh"
PROVINCE_REQUEST = "province-request"
PROVINCE_DONE = "province-done"
PROVINCE_KICK = "province-kick"
PROVINCE_METRIC = "province-metric"
PROVINCE_STATUS = "province-status"
PROVINCE_TITLE = "province-title"
PROVINCE_MAP_SIG = "province-map-sig"
PROVINCE_MAP_GEO = "province-map-geo"
PROVINCE_DRILL = "province-drill"

PLAYLIST_FRAME = "playlist-frame"
PLAYLIST_TICK = "playlist-tick"
PLAYLIST_CONFIG = "playlist-config"

SUP_QUERY = "sup-query"
SUP_BREADCRUMB = "sup-breadcrumb"
SUP_CITY = "sup-city"
SUP_DISTRICT = "sup-district"
SUP_RULE = "sup-rule"
SUP_STATE = "sup-state"
SUP_FROM = "sup-from"
SUP_TO = "sup-to"
SUP_ALERTS = "sup-alerts"
SUP_SELECTED = "sup-selected"
SUP_DISTRICT_BARS = "sup-district-bars"
SUP_CATEGORY_BARS = "sup-category-bars"
SUP_GRID = "sup-grid"
SUP_EXPORT = "sup-export"
SUP_EXPORT_XLSX = "sup-export-xlsx"
SUP_CLEAR = "sup-clear"
SUP_ACT_TO = "sup-act-to"
SUP_ACT_KIND = "sup-act-kind"
SUP_ACT_NOTE = "sup-act-note"
SUP_ACT_DUE = "sup-act-due"
SUP_ACT_HOURS = "sup-act-hours"  # how long the 静默/Silence action silences the selected alert's group
SUP_ACT_MSG = "sup-act-msg"
SUP_PAGE_IDS = "sup-page-ids"
SUP_PLAN = "sup-plan"  # the planning panel: calls against the forecast, seats now and next 2 h
SUP_PLAN_CHART = "sup-plan-chart"
SUP_PLAN_TICK = "sup-plan-tick"
SUP_ACTION = "sup-action"  # pattern id type: {"type": SUP_ACTION, "action": "ack"|"assign"|"escalate"|"resolve"|"silence"|"bulk_ack"}

TK_ID = "tk-id"
TK_UNMASK = "tk-unmask"  # True when the page was opened with ?unmask=1 (a permission, audited)
TK_BODY = "tk-body"
TK_MESSAGE = "tk-message"
TK_NOTE = "tk-note"
TK_TO = "tk-to"
TK_DUE = "tk-due"
TK_ACTION = "tk-action"  # pattern id type: {"type": TK_ACTION, "action": "ack"|"escalate"|"resolve", "alert": id}

ASS_SCOPE = "ass-scope"
ASS_LEVEL = "ass-level"
ASS_PERIOD = "ass-period"
ASS_END = "ass-end"
ASS_TABLE = "ass-table"

REP_LIST = "rep-list"
REP_QUERY = "rep-query"

WALL_PLAN = "wall-plan"  # pattern id type: {"type": WALL_PLAN, "index": "planned" | "adherence"}
ROSTER_SCOPE = "roster-scope"
ROSTER_WEEK = "roster-week"
ROSTER_BODY = "roster-body"
ROSTER_PLAN = "roster-plan"
ROSTER_CHART = "roster-chart"
ROSTER_TOTAL = "roster-total"  # pattern id type: {"type": ROSTER_TOTAL, "index": "paid" | "under" | ...}
