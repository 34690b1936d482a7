"""Every component id, once. Values are kebab-case with a page prefix."""

URL = "app-url"
PAGE = "app-page"
LANG_STORE = "app-lang"

HOME_TABLE = "home-table"
HOME_REFRESH = "home-refresh"
HOME_AS_OF = "home-as-of"
