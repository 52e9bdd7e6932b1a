"""Emails: trimmed, `mailto:` removed, lower-cased, syntax-checked without DNS, and noted.

Addresses are decided in polars by the rules email-validator applies to them, internationalised
ones included. The local part is a dot-atom of ASCII `atext` and of the non-ASCII characters
email-validator calls safe (letters, numbers, punctuation, symbols; combining marks but not
first), taken from the very `unicodedata` tables it reads, and is NFC-normalised as it is.
Plain ASCII domains are decided by a pattern (host-name labels of at most 63 characters, a
top-level label ending in a letter); every other domain (IDN, Punycode, `ab--` labels,
special-use names) goes once per distinct domain to email-validator, which gives its IDNA
form. What neither settles (quoted local parts, characters past U+2FFFF, anything rejected)
goes, de-duplicated, to email-validator whole, which decides and explains.

A valid address whose domain looks mistyped keeps its value and gets a note, `_warn_email`:
`email_typo` when the domain is one edit from a common mail provider's, `unknown_tld` when its
top-level domain is not in the public suffix list bundled with tldextract. Each distinct
domain is looked at once.

When the mapper found several email values for the row (`_email_candidates`, in column
priority order), the first valid one is used, the others go to `custom` as `other_emails`,
and `_warn_email.skipped` says so when it was not the first.

    >>> lf = pl.LazyFrame({"email": [" Mailto:Ann@Example.COM ", "ann@", "bo@gmail.comn"]})
    >>> out = normalise_emails(lf).collect()
    >>> out["email"].to_list()
    ['ann@example.com', None, 'bo@gmail.comn']
    >>> out["_warn_email"][2]
    "email_typo|'bo@gmail.comn': the domain 'gmail.comn' looks like a typo of 'gmail.com'"
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

import email_validator
import polars as pl

from schemas.fields import CUSTOM_ENTRY
from transforms._lookup import attach_lookup, per_value
from transforms.cells import ordinal

__all__ = [
    "CANDIDATES",
    "COMMON_PROVIDERS",
    "OTHER_EMAILS_KEY",
    "clean_email",
    "domain_notes",
    "normalise_emails",
    "validate_email_domains",
    "validate_email_values",
]

# Every non-blank email value of a row in column priority order, from the mapper (optional).
CANDIDATES = "_email_candidates"
# The `custom` key under which the values not used are kept, joined by "; ".
OTHER_EMAILS_KEY = "other_emails"

# Mail providers whose domains are mistyped often enough to be worth a note, most used first
# (a typo one edit from two of them is shown as the first's). A domain in this list is never
# noted, so real domains one edit from another provider are listed too (mail.com, ymail.com).
COMMON_PROVIDERS: tuple[str, ...] = tuple(
    """
    gmail.com yahoo.com hotmail.com outlook.com icloud.com aol.com googlemail.com live.com
    msn.com me.com mac.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.ca
    yahoo.co.in yahoo.co.jp ymail.com rocketmail.com hotmail.co.uk hotmail.fr hotmail.de
    hotmail.it hotmail.es outlook.fr outlook.de live.co.uk live.fr gmx.de gmx.net gmx.com
    gmx.at gmx.ch web.de t-online.de orange.fr free.fr wanadoo.fr laposte.net sfr.fr
    libero.it btinternet.com sky.com virginmedia.com comcast.net att.net sbcglobal.net
    verizon.net bellsouth.net cox.net protonmail.com proton.me pm.me mail.com email.com
    zoho.com fastmail.com mail.ru yandex.ru yandex.com ya.ru bk.ru list.ru inbox.ru
    rambler.ru ukr.net wp.pl o2.pl interia.pl seznam.cz qq.com 163.com 126.com sina.com
    foxmail.com naver.com daum.net hanmail.net rediffmail.com uol.com.br bol.com.br
    """.split()
)
# A typo inside a name this short is as likely another real domain (aon.com, maia.com):
# only a typo after its first dot is noted (aol.con, mail.ry).
_SHORT_NAME = 4
_PROVIDER_RANK = {p: i for i, p in enumerate(COMMON_PROVIDERS)}
_PROVIDER_SIZES = frozenset(len(p) + d for p in COMMON_PROVIDERS for d in (-1, 0, 1))
# Suggested for an unknown top-level domain one edit from one of these, in this order.
_COMMON_TLDS: tuple[str, ...] = tuple(
    """
    com net org de fr uk ru it es nl be ch at pl se no dk fi pt ie cz jp cn in br au ca us
    mx io co info biz edu gov
    """.split()
)

_ATEXT = r"a-z0-9!#$%&'*+/=?^_`{|}~\-"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"
_ASCII_DOMAIN = rf"^(?:{_LABEL}\.)+{_TOP_LABEL}$"
# Left to email-validator although the pattern matches: labels with `--` in 3rd-4th place
# (IDNA-reserved unless Punycode), Punycode (decoded for the normal form), special-use names.
_SPECIAL_TLDS = "|".join(re.escape(d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)
_UNDECIDED_DOMAIN = rf"(?:^|\.)[a-z0-9][a-z0-9-]--|xn--|\.(?:{_SPECIAL_TLDS})$"
# Characters past this are rare in addresses; they go to email-validator whole.
_INTL_END = 0x30000
_MAX_ADDRESS = 254

_CLEAN = "_email_clean"
_LOCAL = "_email_local"
_NFC = "_email_nfc"
_DOMAIN = "_email_domain"
_DOMAIN_KEY = "_email_domain_key"
_FAST = "_email_fast"
_ROW = "_email_row"
_POSITION = "_email_position"
_NOTE_KEY = "_email_note_domain"
_ASCII_DOMAIN_OK = "_email_ascii_domain"
_LOCAL_OK = "_email_local_ok"
_SKIPPED = "_warn_email.skipped"

EMAIL_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "email_key": pl.String(),
    "normalised": pl.String(),
    "error": pl.String(),
}
DOMAIN_RESULT_SCHEMA: dict[str, pl.DataType] = {
    _DOMAIN_KEY: pl.String(),
    "_domain_normalised": pl.String(),  # email-validator's form, lower-cased; null if invalid
    "_domain_bytes": pl.Int64(),  # UTF-8 bytes of that form, before lower-casing
    "_domain_ascii_bytes": pl.Int64(),  # bytes of its IDNA (ASCII) form
}
NOTE_SCHEMA: dict[str, pl.DataType] = {
    _NOTE_KEY: pl.String(),
    "_note_code": pl.String(),
    "_note_text": pl.String(),  # the message after "'<address>'"
}


def clean_email(raw: str | pl.Expr) -> pl.Expr:
    """Trim, drop a `mailto:` prefix, lower-case."""
    text = (pl.col(raw) if isinstance(raw, str) else raw).str.strip_chars()
    return text.str.replace(r"^(?i)mailto:", "").str.strip_chars().str.to_lowercase()


def normalise_emails(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Replace `email` with its normalised form; add `_err_email` ("code|message") where invalid
    and `_warn_email` where a valid address's domain looks mistyped.

    With `_email_candidates`, the first valid candidate is used (see the module docstring).

        >>> normalise_emails(pl.LazyFrame({"email": ["Jürgen@Bücher.DE"]})).collect().item(0, 0)
        'jürgen@bücher.de'
    """
    if CANDIDATES in lf.collect_schema().names():
        checked = _choose_candidate(lf)
    else:
        checked = _check_emails(lf).rename({"_email_error": "_err_email"})
    return _note_domains(checked)


def _check_emails(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`email` normalised (null if invalid), `_email_error` and `_email_note_domain` beside it."""
    # Cached between lookups: each reads its frame three times, and polars' own subplan
    # elimination misses it (each read projects other columns), which ran the checks twice.
    domains = attach_lookup(
        _split(lf).cache(), (_DOMAIN_KEY,), validate_email_domains, DOMAIN_RESULT_SCHEMA
    )
    decided = domains.with_columns(_fast_address()).with_columns(
        pl.when(pl.col(_FAST).is_null()).then(pl.col(_CLEAN)).alias("email_key")
    )
    checked = attach_lookup(
        decided.cache(), ("email_key",), validate_email_values, EMAIL_RESULT_SCHEMA
    )
    # Only the few addresses email-validator accepted need their domain found again.
    slow_domain = pl.col("normalised").str.extract(r"@([^@]+)$", 1)
    return checked.with_columns(
        pl.coalesce(_FAST, "normalised").alias("email"),
        pl.col("error").alias("_email_error"),
        pl.coalesce(_NOTE_KEY, slow_domain).alias(_NOTE_KEY),
    ).drop(*_WORK_COLUMNS, *DOMAIN_RESULT_SCHEMA, "email_key", "normalised", "error")


_WORK_COLUMNS = (_CLEAN, _LOCAL, _NFC, _DOMAIN, _ASCII_DOMAIN_OK, _LOCAL_OK, _FAST)


def _split(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The cleaned address split at its first `@`, each side checked as far as polars can.

    `_email_nfc` is the local part's NFC form where that differs from it (null elsewhere:
    normalising every ASCII local part would cost more than all the rest); `_email_domain_key`
    is the domain where only email-validator can settle it and the local part is fine.
    """
    local = pl.col(_LOCAL)
    non_ascii = local.str.len_bytes() != local.str.len_chars()
    nfc = pl.when(non_ascii).then(local).str.normalize("NFC")
    domain = pl.col(_DOMAIN)
    plain_domain = domain.str.contains(_ASCII_DOMAIN) & ~domain.str.contains(_UNDECIDED_DOMAIN)
    return (
        lf.with_columns(clean_email("email").alias(_CLEAN))
        .with_columns(
            pl.col(_CLEAN)
            .str.splitn("@", 2)
            .struct.rename_fields([_LOCAL, _DOMAIN])
            .struct.unnest()
        )
        .with_columns(
            pl.when(nfc != local).then(nfc).alias(_NFC),
            plain_domain.fill_null(False).alias(_ASCII_DOMAIN_OK),
        )
        .with_columns(_fast_local().alias(_LOCAL_OK))
        .with_columns(
            pl.when(pl.col(_LOCAL_OK) & ~pl.col(_ASCII_DOMAIN_OK)).then(domain).alias(_DOMAIN_KEY)
        )
    )


@functools.cache
def _local_pattern() -> str:
    """A dot-atom local part email-validator accepts as it is: NFC, lower case, safe characters.

    Built from `unicodedata`, the tables email-validator itself reads, so the two agree on
    every character whatever Unicode version polars' regex engine knows. Characters Python
    would still lower-case are left out: the normal form is lower-cased by Python.
    """
    safe: list[str] = []
    marks: list[str] = []
    start = 0x80
    for kind, run in itertools.groupby(range(0x80, _INTL_END), _char_kind):
        size = sum(1 for _ in run)
        span = rf"\x{{{start:X}}}-\x{{{start + size - 1:X}}}"
        if kind == "safe":
            safe.append(span)
        elif kind == "mark":
            marks.append(span)
        start += size
    first = f"[{_ATEXT}{''.join(safe)}]"
    rest = f"[{_ATEXT}{''.join(safe)}{''.join(marks)}]"
    return rf"^{first}{rest}*(?:\.{rest}+)*$"


def _char_kind(code: int) -> str:
    char = chr(code)
    if char.lower() != char:
        return ""
    category = unicodedata.category(char)[0]
    return "safe" if category in "LNPS" else "mark" if category == "M" else ""


def _fast_local() -> pl.Expr:
    """The local part is one email-validator accepts, as it is and after NFC."""
    pattern = _local_pattern()
    nfc = pl.col(_NFC)
    accepted = pl.col(_LOCAL).str.contains(pattern) & (nfc.is_null() | nfc.str.contains(pattern))
    return accepted.fill_null(False)


def _fast_address() -> list[pl.Expr]:
    """`_email_fast`, the normal form of an address decided without email-validator (else
    null), and `_email_note_domain`, its domain.

    email-validator checks the length of three forms: as given, normalised, and with the
    domain in IDNA ASCII. For a plain ASCII address, the commonest, all three are the cleaned
    value, which is then its normal form too.
    """
    plain = pl.col(_ASCII_DOMAIN_OK)
    simple = plain & pl.col(_NFC).is_null()
    domain_bytes = pl.col(_DOMAIN).str.len_bytes().cast(pl.Int64)
    given_bytes = pl.col(_LOCAL).str.len_bytes().cast(pl.Int64) + domain_bytes
    local_bytes = pl.coalesce(
        pl.col(_NFC).str.len_bytes().cast(pl.Int64), given_bytes - domain_bytes
    )
    normal_bytes = pl.when(plain).then(domain_bytes).otherwise(pl.col("_domain_bytes"))
    idna_bytes = pl.when(plain).then(domain_bytes).otherwise(pl.col("_domain_ascii_bytes"))
    longest = pl.max_horizontal(given_bytes, local_bytes + normal_bytes, local_bytes + idna_bytes)
    fits = (longest + 1 <= _MAX_ADDRESS).fill_null(False)
    normal = pl.coalesce("_domain_normalised", pl.when(plain).then(pl.col(_DOMAIN)))
    accepted = pl.col(_LOCAL_OK) & normal.is_not_null() & fits
    # Built only where it differs from the cleaned value (NFC, IDNA): concat_str of nulls is free.
    rebuilt = pl.concat_str(pl.when(~simple).then(pl.coalesce(_NFC, _LOCAL)), pl.lit("@"), normal)
    return [
        pl.when(accepted).then(pl.coalesce(rebuilt, _CLEAN)).alias(_FAST),
        pl.when(accepted).then(normal).alias(_NOTE_KEY),
    ]


def validate_email_values(keys: pl.DataFrame) -> pl.DataFrame:
    """email-validator (no DNS) on each distinct `email_key`: the one per-address function."""
    return per_value(keys, ("email_key",), _check_one, EMAIL_RESULT_SCHEMA)


def _check_one(key: str) -> tuple[str, str | None, str | None]:
    try:
        checked = email_validator.validate_email(key, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        shown = key if len(key) <= 60 else key[:60] + "…"
        return key, None, f"invalid_email|{shown!r} is not a valid email address: {exc}"
    return key, checked.normalized.lower(), None


def validate_email_domains(keys: pl.DataFrame) -> pl.DataFrame:
    """email-validator's normal form of each distinct domain the pattern leaves undecided."""
    return per_value(keys, (_DOMAIN_KEY,), _check_domain, DOMAIN_RESULT_SCHEMA)


def _check_domain(domain: str) -> tuple[str, str | None, int | None, int | None]:
    # The domain is checked apart from any local part, so a one-letter one stands in: an
    # address too long with it is too long with any.
    try:
        checked = email_validator.validate_email("a@" + domain, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return domain, None, None, None
    size = len(checked.domain.encode())
    return domain, checked.domain.lower(), size, len(checked.ascii_domain)


def _note_domains(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`_warn_email` for valid addresses whose domain looks mistyped, once per domain."""
    noted = attach_lookup(lf.cache(), (_NOTE_KEY,), domain_notes, NOTE_SCHEMA)
    note = pl.concat_str(
        pl.col("_note_code"), pl.lit("|'"), pl.col("email"), pl.lit("'"), pl.col("_note_text")
    )
    return noted.with_columns(note.alias("_warn_email")).drop(_NOTE_KEY, "_note_code", "_note_text")


def domain_notes(keys: pl.DataFrame) -> pl.DataFrame:
    """A note code and message tail for each distinct normalised domain that looks mistyped.

    Vectorised over the domains: Python sees only the few a provider's domain or an unknown
    top-level domain singles out.
    """
    domains = keys.get_column(_NOTE_KEY)
    tops = domains.str.extract(r"\.([^.]+)$", 1)
    unknown = domains.filter(~tops.is_in(list(_known_tlds())) & tops.is_not_null())
    notes = {d: _unknown_tld_note(d) for d in unknown.to_list()}
    for domain, provider in _provider_typos(domains):  # a typo's note wins over its TLD's
        notes[domain] = ("email_typo", f": the domain '{domain}' looks like a typo of '{provider}'")
    found = pl.DataFrame(
        [(d, code, text) for d, (code, text) in notes.items()], schema=NOTE_SCHEMA, orient="row"
    )
    return keys.select(_NOTE_KEY).join(found, on=_NOTE_KEY, how="left", maintain_order="left")


def _unknown_tld_note(domain: str) -> tuple[str, str]:
    top = domain.rsplit(".", 1)[-1]
    text = f": '.{top}' is not a top-level domain"
    better = next((t for t in _COMMON_TLDS if _one_edit(top, t)), None)
    if better is not None:
        text += f" (did you mean '{domain[: -len(top)]}{better}'?)"
    return "unknown_tld", text


def _provider_typos(domains: pl.Series) -> list[tuple[str, str]]:
    """(domain, provider) for each domain one edit from a common provider's, not being one.

    Two strings one insertion, deletion, substitution or transposition apart share a string
    made by deleting at most one character from each ("symmetric deletion"), so a join on
    those finds every pair; `_one_edit` then drops the few that are two edits apart.
    """
    size = domains.str.len_chars()
    near = domains.filter(size.is_in(list(_PROVIDER_SIZES)) & ~domains.is_in(COMMON_PROVIDERS))
    pairs = (
        _deletions(near.to_frame("domain"))
        .join(_provider_deletions(), on="variant")
        .select("domain", "provider")
        .unique()
    )
    found: dict[str, str] = {}
    for domain, provider in pairs.iter_rows():
        if not (_one_edit(domain, provider) and _counts_as_typo(domain, provider)):
            continue
        if domain not in found or _PROVIDER_RANK[provider] < _PROVIDER_RANK[found[domain]]:
            found[domain] = provider
    return list(found.items())


def _deletions(frame: pl.DataFrame) -> pl.DataFrame:
    """Each `domain` beside itself and each string one deletion from it, as `variant`."""
    domain = pl.col("domain")
    at = pl.col("_at")
    return (
        frame.with_columns(pl.int_ranges(-1, domain.str.len_chars()).alias("_at"))
        .explode("_at")
        .select(
            domain,
            pl.when(at < 0)
            .then(domain)
            .otherwise(domain.str.slice(0, at) + domain.str.slice(at + 1))
            .alias("variant"),
        )
    )


@functools.cache
def _provider_deletions() -> pl.DataFrame:
    """`_deletions` of the common providers' domains, the domain as `provider`."""
    providers = pl.DataFrame({"domain": COMMON_PROVIDERS})
    return _deletions(providers).rename({"domain": "provider"})


def _counts_as_typo(domain: str, provider: str) -> bool:
    name = provider.split(".", 1)[0]
    return len(name) > _SHORT_NAME or domain.split(".", 1)[0] == name


def _one_edit(a: str, b: str) -> bool:
    """`a` and `b` differ by exactly one insertion, deletion, substitution or transposition."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    swapped = a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i + 1 :] or swapped


@functools.cache
def _known_tlds() -> frozenset[str]:
    """Top-level labels of the public suffix list bundled with tldextract (never fetched).

    Unicode forms only: the domains noted are email-validator's normal form, which decodes
    Punycode. Imported here: tldextract pulls in `requests`, which a run without emails skips.
    """
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    return frozenset(suffix.rsplit(".", 1)[-1] for suffix in extractor.tlds)


def _choose_candidate(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`email` from the first valid candidate, else from the first; the rest to `custom`."""
    names = lf.collect_schema().names()
    lf = lf.cache()  # read twice: for the candidates, and for the rest of the row
    chosen = pl.concat([lf.drop("email", strict=False), _pick(lf)], how="horizontal")
    raw = pl.col(CANDIDATES).list.eval(pl.element().str.strip_chars())
    at = pl.col(_POSITION)
    kept = [n for n in names if n != CANDIDATES]
    added = [n for n in ("email", "custom", "_err_email") if n not in kept]
    return (
        chosen.with_columns(
            raw.list.first().alias("_email_first"),
            raw.list.get(at, null_on_oob=True).alias("_email_used"),
            _joined(raw.list.head(at), raw.list.slice(at + 1)).alias("_email_others"),
        )
        .with_columns(
            _with_other_emails("custom" in names).alias("custom"),
            _skipped_note().alias(_SKIPPED),
        )
        .select(*kept, *added, _SKIPPED, _NOTE_KEY)
    )


def _pick(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Per row, in row order: the chosen candidate's `email`, `_err_email`, note domain and
    position (0 when none is valid: the first candidate's result stands)."""
    values = pl.col(CANDIDATES)
    exploded = (
        lf.select(values.alias("email"), pl.int_ranges(0, values.list.len()).alias(_POSITION))
        .with_row_index(_ROW)
        # An empty or null list keeps one null row: every row has a first candidate.
        .explode("email", _POSITION, empty_as_null=True, keep_nulls=True)
        .with_columns(pl.col(_POSITION).fill_null(0))
    )
    position = pl.col(_POSITION)
    first_valid = pl.when(pl.col("email").is_not_null()).then(position).min().over(_ROW)
    # One pass, no self-join: the filter keeps exactly one candidate per row, in row order.
    return (
        _check_emails(exploded)
        .filter(position == first_valid.fill_null(0))
        .select("email", pl.col("_email_error").alias("_err_email"), _NOTE_KEY, position)
    )


def _joined(*lists: pl.Expr) -> pl.Expr:
    """The values of `lists` joined by "; ", or null when there are none."""
    parts = [pl.when(v.list.len() > 0).then(v.list.join("; ")) for v in lists]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).replace("", None)


def _with_other_emails(has_custom: bool) -> pl.Expr:
    """`custom` with {key: "other_emails", value: "a; b"} appended where values were not used."""
    others = pl.col("_email_others")
    entry = pl.struct(pl.lit(OTHER_EMAILS_KEY).alias("key"), others.alias("value"))
    alone = pl.when(others.is_not_null()).then(entry.cast(CUSTOM_ENTRY).reshape((-1, 1)))
    if not has_custom:
        return alone.arr.to_list()
    # Appending to a list of structs costs microseconds a row: only the rows that have both
    # entries and other emails are appended to, then put back in place (`gather` gives null
    # for the rest, which keep `custom` or get the entry alone).
    both = others.is_not_null() & (pl.col("custom").list.len() > 0)
    appended = pl.col("custom").filter(both).list.concat(alone.arr.to_list().filter(both))
    at = pl.when(both).then(both.cum_sum() - 1)
    return pl.coalesce(appended.gather(at), alone.arr.to_list(), pl.col("custom"))


def _skipped_note() -> pl.Expr:
    """The note for a row whose first candidate was not used: "first_email_invalid|'<first>'
    is not a valid email; the 2nd value '<used>' was used"."""
    text = pl.format(
        "first_email_invalid|'{}' is not a valid email; the {} value '{}' was used",
        "_email_first",
        ordinal(pl.col(_POSITION) + 1),
        "_email_used",
    )
    return pl.when(pl.col(_POSITION) > 0).then(text)
