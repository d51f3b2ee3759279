"""The recipient register (include/policy/transfers.yaml) and the adequacy lists it is read
against (include/policy/jurisdictions.yaml): who receives personal data, in which countries,
under which transfer tool, and where the database records each transfer. Validated like the
retention policy: a bad entry is an error naming the file, the entry and the field."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from governance import settings
from governance.policy import Code, DocumentRef, Identifier, Strict
from governance.policy_files import Loaded, load_model

RecipientCategory = Literal["ai_model_provider", "payment_processor", "cloud_provider", "law_enforcement"]
Role = Literal["processor", "controller", "joint_controller"]
GdprMechanism = Literal["adequacy", "sccs", "bcrs", "art49_derogation", "not_applicable"]
Access = Literal["hosting", "access", "onward"]
# A transfer seen in the data whose destination the data does not say (a recipient the register lacks).
UNKNOWN_COUNTRY = "ZZ"  # ISO 3166 user-assigned: "unknown or unspecified"

MECHANISM_NAMES = {
    "adequacy": "adequacy decision (Art. 45)",
    "sccs": "standard contractual clauses (Art. 46(2)(c))",
    "bcrs": "binding corporate rules (Art. 47)",
    "art49_derogation": "derogation (Art. 49)",
    "not_applicable": "no Chapter V tool needed",
}


@cache
def _iso_countries() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_2 for country in pycountry.countries)


def country_name(code: str) -> str:
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", None) or (found.name if found else "unknown country")


def _iso_country(code: str) -> str:
    if code not in _iso_countries():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


IsoCountry = Annotated[str, AfterValidator(_iso_country)]


class GdprTool(Strict):
    """The GDPR Chapter V tool for one destination, with what an auditor asks to see of it."""

    mechanism: GdprMechanism
    reference: str | None = Field(None, min_length=1)  # the decision, or the signed document
    date: dt.date | None = None
    module: Literal[1, 2, 3, 4] | None = None  # SCCs: the module of Decision 2021/914
    derogation: str | None = Field(None, min_length=1)
    safeguards: str | None = Field(None, min_length=1)
    note: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _what_each_tool_needs(self) -> Self:
        needs = {
            "adequacy": ("reference",),
            "sccs": ("module", "reference", "date"),
            "bcrs": ("reference", "date"),
            "art49_derogation": ("derogation", "safeguards"),
            "not_applicable": ("note",),
        }[self.mechanism]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.mechanism} needs {' and '.join(missing)}")
        if self.module is not None and self.mechanism != "sccs":
            raise ValueError(f"module is for sccs only, not {self.mechanism}")
        return self


class Destination(Strict):
    country: IsoCountry
    access: list[Access] = Field(min_length=1)
    sub_processor: str | None = Field(None, min_length=1)
    lawful_from: dt.date | None = None  # 152-FZ: overrides the computed earliest lawful transfer date
    gdpr: GdprTool | None = None  # None: no tool yet (a finding, not an error)


class Notification(Strict):
    number: str = Field(min_length=1)
    date: dt.date


class Ru152fz(Strict):
    assessment_date: dt.date | None = None  # art. 12(5): the recipient's protection assessed
    notification: Notification | None = None


class Dated(Strict):
    reference: str = Field(min_length=1)
    date: dt.date


class Review(Strict):
    date: dt.date
    owner: str = Field(min_length=1)


class ShowsUpIn(Strict):
    """Where this recipient's transfers are recorded: one row is one record transferred."""

    table: Identifier
    column: Identifier
    match: Literal["code", "country"]  # the column holds the recipient's code, or a destination country
    clock: Identifier  # when the row was transferred
    subject_column: Identifier = "user_id"
    pseudonym_column: Identifier | None = None  # the subject of rows whose account was erased
    legal_basis_column: Identifier | None = None  # a row whose basis is empty is a finding
    data_categories: list[Code] = Field(min_length=1)


class Controller(Strict):
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    country: IsoCountry
    dpo: str | None = None


class Recipient(Strict):
    code: Code
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    category: RecipientCategory
    role: Role
    purpose: str = Field(min_length=1)
    data_subjects: list[Code] = Field(min_length=1)
    data_categories: list[Code] = Field(min_length=1)
    special_categories: list[Code] = Field(default_factory=list)
    transfers_since: dt.date
    destinations: list[Destination] = Field(min_length=1)
    tia: Dated | None = None
    ru_152fz: Ru152fz = Field(default_factory=Ru152fz)
    review: Review
    shows_up_in: list[ShowsUpIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        countries = [d.country for d in self.destinations]
        if len(set(countries)) != len(countries):
            raise ValueError(f"destinations: a country is listed twice ({', '.join(countries)})")
        notification = self.ru_152fz.notification
        if notification and notification.date > self.transfers_since:
            raise ValueError(f"ru_152fz.notification.date: {notification.date} is later than the first transfer "
                             f"(transfers_since {self.transfers_since}); a transfer needs its notification first")
        for index, place in enumerate(self.shows_up_in):
            extra = sorted(set(place.data_categories) - set(self.data_categories))
            if extra:
                raise ValueError(f"shows_up_in[{index}].data_categories: {', '.join(extra)} not in the recipient's "
                                 "data_categories")
        return self

    @property
    def countries(self) -> list[str]:
        return [d.country for d in self.destinations]

    def destination(self, country: str) -> Destination | None:
        return next((d for d in self.destinations if d.country == country), None)


class TransferRegister(Strict):
    version: Literal[2]
    document: DocumentRef
    controller: Controller
    recipients: list[Recipient] = Field(min_length=1)

    @field_validator("recipients")
    @classmethod
    def _unique_codes(cls, recipients: list[Recipient]) -> list[Recipient]:
        codes = [recipient.code for recipient in recipients]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"recipient code used twice: {', '.join(duplicates)}")
        return recipients

    @model_validator(mode="after")
    def _one_recipient_per_recorded_country(self) -> Self:
        """A row that records a destination country must name one recipient: no two recipients
        found by the same column may share a country."""
        owners: dict[tuple[str, str, str], str] = {}
        for recipient in self.recipients:
            for place in recipient.shows_up_in:
                if place.match != "country":
                    continue
                for country in recipient.countries:
                    key = (place.table, place.column, country)
                    if key in owners and owners[key] != recipient.code:
                        raise ValueError(f"recipients {owners[key]!r} and {recipient.code!r} both claim "
                                         f"{place.table}.{place.column} = {country}")
                    owners[key] = recipient.code
        return self

    def codes(self, category: str | None = None) -> set[str]:
        return {r.code for r in self.recipients if category is None or r.category == category}

    def recipient(self, code: str) -> Recipient | None:
        return next((r for r in self.recipients if r.code == code), None)

    def is_foreign(self, country: str) -> bool:
        return country != self.controller.country


class GdprLists(Strict):
    eea: list[IsoCountry]
    source: str
    adequacy: dict[IsoCountry, str]


class WorkingDays(Strict):
    working_days: int = Field(ge=1, le=60)


class Ru152fzLists(Strict):
    convention_108: list[IsoCountry]
    roskomnadzor_list: list[IsoCountry]
    transfer_wait: WorkingDays


class Jurisdictions(Strict):
    version: Literal[1]
    as_of: dt.date
    gdpr: GdprLists
    ru_152fz: Ru152fzLists

    def gdpr_adequate(self, country: str) -> bool:
        return country in self.gdpr.eea or country in self.gdpr.adequacy

    def ru_adequate(self, country: str) -> bool:
        return country in self.ru_152fz.convention_108 or country in self.ru_152fz.roskomnadzor_list


def load_transfer_register(path: Path | str | None = None) -> Loaded[TransferRegister]:
    return load_model(path or settings.policy_dir() / "transfers.yaml", TransferRegister)


def load_jurisdictions(path: Path | str | None = None) -> Loaded[Jurisdictions]:
    return load_model(path or settings.policy_dir() / "jurisdictions.yaml", Jurisdictions)
