"""The recipient register (include/policy/transfers.yaml): who receives personal data,
in which countries, under which transfer mechanism. Validated like the retention policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from governance import settings
from governance.policy import Code, CountryCode, DocumentRef, Identifier, Strict
from governance.policy_files import Loaded, load_model

RecipientCategory = Literal["ai_model_provider", "payment_processor", "cloud_provider", "law_enforcement"]
GdprMechanism = Literal["adequacy", "sccs", "bcrs", "art49_derogation", "not_applicable"]
Ru152fzBasis = Literal["domestic", "adequate_country", "notified_to_rkn"]


class ShowsUpIn(Strict):
    """Where this recipient's transfers are recorded: a column holding its code or its countries."""

    table: Identifier
    column: Identifier
    match: Literal["code", "country"]


class Controller(Strict):
    name: str
    country: CountryCode


class Recipient(Strict):
    code: Code
    name: str = Field(min_length=1)
    category: RecipientCategory
    countries: list[CountryCode] = Field(min_length=1)
    gdpr_mechanism: GdprMechanism
    ru_152fz: Ru152fzBasis
    data_categories: list[Code] = Field(min_length=1)
    purpose: str = Field(min_length=1)
    shows_up_in: list[ShowsUpIn] = Field(default_factory=list)


class TransferRegister(Strict):
    version: Literal[1]
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
    def _domestic_means_home_country(self) -> Self:
        home = self.controller.country
        for recipient in self.recipients:
            if recipient.ru_152fz == "domestic" and recipient.countries != [home]:
                raise ValueError(f"recipient {recipient.code!r}: ru_152fz 'domestic' needs countries [{home}]")
        return self

    def codes(self, category: str | None = None) -> set[str]:
        return {r.code for r in self.recipients if category is None or r.category == category}


def load_transfer_register(path: Path | str | None = None) -> Loaded[TransferRegister]:
    return load_model(path or settings.policy_dir() / "transfers.yaml", TransferRegister)
