"""Browser pages for designers and staff: the BPMN modeler and the case viewer.

The pages are static shells; they sign in with the user's API token, kept in
the browser's session storage, and read and write through /api/v1 like any
other client, so they need no cookie session and no CSRF token.
"""

from flask import Blueprint, render_template

blp = Blueprint("pages", __name__)

# bpmn-js styles SVG through style attributes, hence 'unsafe-inline' for styles;
# scripts come only from our own static files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@blp.after_request
def secure_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.get("/designer/modeler")
def modeler():
    """Open a deployed version, edit it, check it with the service's rules, deploy."""
    return render_template("pages/modeler.html")


@blp.get("/cases/<string:number>/viewer")
def viewer(number):
    """One case's diagram, its steps marked, beside its timeline."""
    return render_template("pages/viewer.html", number=number)
