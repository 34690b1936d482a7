"""Access control: users, roles and regional scope, sessions, kiosk links, audit, hardening.

``models`` holds the tables (registered on the one ``Base``), ``principal`` who is asking and what
they may do, ``web`` the Flask wiring (login page, the global guard, security headers, CSRF).
Importing this package opens nothing.
"""
