"""Declarative models of library APIs: sources, sanitizers, propagators and non-propagating calls.

Vulnerability *kinds* name what a sanitizer neutralizes; a taint carries, per origin, the set of kinds it has
been cleared for. A sink of kind ``K`` fires when some origin reaching it is not cleared for ``K``.
Sinks live with the rules (``rules/*.py``) because a sink belongs to one weakness; what is here is shared by all.
"""

from __future__ import annotations

KINDS: frozenset[str] = frozenset(
    {
        "sql",  # SQL query text
        "shell",  # a shell command line
        "cmd",  # an argv list / program name
        "code",  # Python source for eval/exec
        "html",  # HTML/XML markup
        "path",  # a file-system path
        "url",  # a URL whose host decides where a request or redirect goes
        "regex",  # a regular expression pattern
        "xml",  # an XML document parsed with entity resolution
        "deser",  # a serialized object stream
        "log",  # a log record
        "header",  # an HTTP header value (CR/LF)
        "xpath",  # an XPath expression
        "nosql",  # a MongoDB filter
        "template",  # template source (server-side template injection)
    }
)
ALL: frozenset[str] = KINDS

# Marks live in the same per-origin set as cleared kinds (joined by intersection: "holds on every path").
MARK_NORMALIZED = "+norm"  # path passed through realpath/abspath/normpath/resolve
MARK_BUILT = "+built"  # text assembled by string building (concatenation, f-string, %, format, join)
MARK_JOINED = "+joined"  # text appended to a base path (os.path.join(base, x), base / x, f"{base}/{x}")
PARAM_ORIGIN_PREFIX = "param:"  # origins that are parameters of a source function (see Taint.external)
PATH_JOINERS = frozenset({"os.path.join", "posixpath.join", "ntpath.join"})

SOURCE_KINDS = ("params", "input", "argv", "env", "files", "network", "web")
DEFAULT_SOURCES: frozenset[str] = frozenset(SOURCE_KINDS)

# Calls whose result is attacker data, by source kind.
SOURCE_CALLS: dict[str, str] = {
    "input": "input",
    "raw_input": "input",
    "sys.stdin.read": "input",
    "sys.stdin.readline": "input",
    "sys.stdin.readlines": "input",
    "os.getenv": "env",
    "os.environ.get": "env",
    "os.getenvb": "env",
    "socket.socket.recv": "network",
    "requests.get": "network",
    "requests.post": "network",
    "urllib.request.urlopen": "network",
    "httpx.get": "network",
    "flask.request.get_json": "web",
    "flask.request.get_data": "web",
}
SOURCE_ATTRS: dict[str, str] = {
    "sys.argv": "argv",
    "os.environ": "env",
    "flask.request": "web",
    "bottle.request": "web",
}
# Method names whose result is data from outside when called on a socket / file / response object.
NETWORK_METHODS = frozenset({"recv", "recvfrom", "recv_into", "makefile"})
FILE_READ_METHODS = frozenset({"read", "readline", "readlines", "read_text", "read_bytes"})

# Calls that remove taint completely (the result cannot carry attacker-chosen text).
FULL_SANITIZERS = frozenset(
    {
        "int",
        "float",
        "bool",
        "complex",
        "len",
        "abs",
        "round",
        "hash",
        "id",
        "isinstance",
        "issubclass",
        "callable",
        "type",
        "ord",
        "uuid.UUID",
        "decimal.Decimal",
        "datetime.date.fromisoformat",
        "datetime.datetime.fromisoformat",
        "ipaddress.ip_address",
        "ipaddress.ip_network",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
        "hmac.compare_digest",
        "secrets.compare_digest",
        "time.time",
    }
)
# Calls whose result is not the text of their arguments (process status/output, counts).
OPAQUE_RESULTS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        # framework responses built from files, templates or redirects are not the text of their arguments
        "flask.send_file",
        "flask.send_from_directory",
        "flask.render_template",
        "flask.redirect",
        "flask.abort",
        "django.shortcuts.render",
        "django.shortcuts.redirect",
        "django.http.FileResponse",
        "django.http.HttpResponseRedirect",
    }
)
FULL_SANITIZER_PREFIXES = ("hashlib.", "hmac.new", "zlib.crc32", "binascii.crc32")

# Method names whose result is not attacker text (booleans, counts, digests).
NON_PROPAGATING_METHODS = frozenset(
    {
        "isdigit",
        "isalnum",
        "isalpha",
        "isidentifier",
        "isnumeric",
        "isdecimal",
        "isascii",
        "islower",
        "isupper",
        "isspace",
        "startswith",
        "endswith",
        "count",
        "find",
        "rfind",
        "index",
        "rindex",
        "exists",
        "is_file",
        "is_dir",
        "is_relative_to",
        "hexdigest",
        "digest",
        "__len__",
        "verify",
    }
)

# Calls that neutralize the value for some kinds only.
SANITIZERS: dict[str, frozenset[str]] = {
    "shlex.quote": frozenset({"shell"}),
    "pipes.quote": frozenset({"shell"}),
    "html.escape": frozenset({"html", "xpath"}),
    "cgi.escape": frozenset({"html"}),
    "markupsafe.escape": frozenset({"html"}),
    "flask.escape": frozenset({"html"}),
    "jinja2.escape": frozenset({"html"}),
    "django.utils.html.escape": frozenset({"html"}),
    "django.utils.html.format_html": frozenset({"html"}),
    "bleach.clean": frozenset({"html"}),
    "xml.sax.saxutils.escape": frozenset({"html"}),
    "xml.sax.saxutils.quoteattr": frozenset({"html"}),
    "re.escape": frozenset({"regex"}),
    "os.path.basename": frozenset({"path"}),
    "werkzeug.utils.secure_filename": frozenset({"path", "shell", "html"}),
    "urllib.parse.quote": frozenset({"url", "header", "log", "html"}),
    "urllib.parse.quote_plus": frozenset({"url", "header", "log", "html"}),
    "urllib.parse.urlencode": frozenset({"header", "log", "html"}),
    "json.dumps": frozenset({"header", "log"}),
    "base64.b64encode": frozenset(ALL - {"deser"}),
    "base64.urlsafe_b64encode": frozenset(ALL - {"deser"}),
    "binascii.hexlify": frozenset(ALL - {"deser"}),
    "defusedxml.ElementTree.fromstring": frozenset({"xml"}),
    "yaml.safe_load": frozenset({"deser"}),
    "ast.literal_eval": frozenset({"code", "deser"}),
    "json.loads": frozenset({"code", "deser", "xml"}),
    "repr": frozenset({"log", "header"}),
    "psycopg2.sql.Identifier": frozenset({"sql"}),
    "psycopg2.sql.Literal": frozenset({"sql"}),
    "psycopg.sql.Identifier": frozenset({"sql"}),
    "psycopg.sql.Literal": frozenset({"sql"}),
    "flask.url_for": frozenset({"url", "html", "header", "path"}),
    "flask.jsonify": frozenset({"html", "header", "log"}),
    "django.urls.reverse": frozenset({"url", "html", "header", "path"}),
    "str": frozenset({"nosql"}),  # a string cannot be a query-operator document
}

# Method calls (by name) that neutralize for some kinds.
SANITIZER_METHODS: dict[str, frozenset[str]] = {
    "escape": frozenset({"html"}),  # markupsafe.Markup.escape, django SafeString
    "hexdigest": ALL,
}

# Path normalization: adds MARK_NORMALIZED (containment checks then clear "path").
NORMALIZERS = frozenset({"os.path.realpath", "os.path.abspath", "os.path.normpath", "posixpath.normpath"})
NORMALIZER_METHODS = frozenset({"resolve"})

# URL parsing/joining: values flowing here are treated as URLs (see the redirect/SSRF rules).
URL_PARSERS = frozenset(
    {
        "urllib.parse.urlparse",
        "urllib.parse.urlsplit",
        "urllib.parse.urljoin",
        "urllib.parse.urlunparse",
        "urllib.parse.urlunsplit",
        "urllib3.util.parse_url",
        "yarl.URL",
        "furl.furl",
    }
)
HOST_ATTRS = frozenset({"netloc", "hostname", "host"})

# Container mutators: ``x.append(t)`` taints ``x``.
MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "add", "setdefault", "appendleft", "extendleft", "write", "put"}
)

# Regex functions: (name, index of the string argument); the pattern is argument 0.
REGEX_FUNCS = {
    "re.fullmatch": "full",
    "re.match": "prefix",
    "re.search": "search",
}

# Probes: strings an attacker needs for each kind. A validator (anchored regex, character allow-list) clears a
# kind when it rejects every probe of that kind.
PROBES: dict[str, tuple[str, ...]] = {
    "sql": ("a' OR '1'='1", 'a" OR "1"="1', "1;DROP TABLE t", "1 OR 1=1"),
    "shell": ("a;id", "a|id", "a&&id", "$(id)", "`id`", "a\nid", "a>f"),
    "cmd": ("-oProxyCommand=id", "/bin/sh", "--help=x"),
    "code": ("__import__('os').system('id')", "f()", "a.b()"),
    "html": ("<script>", 'a"b', "a'b", "<b>"),
    "path": ("../x", "/etc/passwd", "..\\x", ".."),
    "url": ("http://evil.example", "//evil.example", "https://evil.example/x"),
    "regex": ("(a+)+$", "a*", ".*"),
    "xml": ("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",),
    "deser": ("c__builtin__\neval\n(V1\ntR.",),
    "log": ("a\nb", "a\rb"),
    "header": ("a\r\nb", "a\nb", "a\rb"),
    "xpath": ("a' or '1'='1", 'a" or "1"="1', "a]|//*|x[b"),
    "nosql": (),
    "template": ("{{7*7}}", "{%print(1)%}", "${7*7}"),
}
