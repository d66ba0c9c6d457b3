"""The app's pages: one module per page, each with ``dash.register_page`` (path, name, title,
optional ``role=`` and ``nav=``), ``layout(**query)`` and short ``@callback``s. Pages never import
the app. Layouts are wrapped by ``create_app`` with the role and metric checks of
:mod:`dashapp.auth`.
"""
