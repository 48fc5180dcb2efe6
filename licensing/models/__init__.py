"""Domain models, one module per context. Each lifecycle is an FSM field whose @transition methods
check conditions and set fields only; services run them inside a transaction and save.

Everything is re-exported here: `from licensing.models import License` keeps working, and old
migrations find the helpers they reference (`licensing.models.new_token`, ...).
"""

from .audit import AuditEvent, SystemReason, person_name
from .base import (
    FRACTION,
    MAX_PRICE,
    MONEY,
    NOT_NEGATIVE,
    PrivateStorage,
    allows,
    is_fraction,
    is_money,
    new_token,
    private_storage,
    refuses_with,
    transition_label,
    why_not,
)
from .catalogue import IPC_SECTIONS, Closed, Offer, OfferPatent, OfferQuerySet, Patent, package_life
from .contracts import Contract, ContractNumberSeries, ContractVersion, Recordal, contract_document_path
from .distribution import (
    Allocation,
    AllocationLine,
    DistributionPolicy,
    Inventor,
    InventorShare,
    InventorShareSet,
    PatentCost,
    PayoutBatch,
    PayoutItem,
)
from .equity import EquityConversion
from .insurance import InsuranceClaim, InsurancePolicy
from .licenses import Installment, License, LicensePatent, LicenseQuerySet
from .matching import (
    MAX_DIVISIONS,
    EnterpriseNeeds,
    Feedback,
    MatchCorpus,
    MatchTermStat,
    NeedsTerm,
    OfferTerm,
    Push,
    PushCampaign,
    PushConsent,
)
from .milestones import MILESTONE_TERMS, LicenseMilestone, OfferMilestone
from .operations import HealthRecord, RateLimit
from .parties import Enterprise, EnterpriseMember, IndustrySection, Institution, StaffProfile
from .payments import CreditMovement, InvoiceProfile, InvoiceRequest, Payment, PaymentReport, invoice_path, receipt_path
from .reminders import Reminder, ReminderSchedule, SweepMark, _offsets_validator
from .reports import Export, export_path
from .royalties import RoyaltyReport, attachment_path
from .tallies import Tally
from .terms import BLOCKING_TYPES, DealTerms, FeeShape, LicenseType, OfferShape, ReportingPeriod, RoyaltyBase

__all__ = [
    "BLOCKING_TYPES",
    "FRACTION",
    "IPC_SECTIONS",
    "MAX_DIVISIONS",
    "MAX_PRICE",
    "MILESTONE_TERMS",
    "MONEY",
    "NOT_NEGATIVE",
    "Allocation",
    "AllocationLine",
    "AuditEvent",
    "Closed",
    "Contract",
    "ContractNumberSeries",
    "ContractVersion",
    "CreditMovement",
    "DealTerms",
    "DistributionPolicy",
    "Enterprise",
    "EnterpriseMember",
    "EnterpriseNeeds",
    "EquityConversion",
    "Export",
    "FeeShape",
    "Feedback",
    "HealthRecord",
    "IndustrySection",
    "Installment",
    "Institution",
    "InsuranceClaim",
    "InsurancePolicy",
    "Inventor",
    "InventorShare",
    "InventorShareSet",
    "InvoiceProfile",
    "InvoiceRequest",
    "License",
    "LicenseMilestone",
    "LicensePatent",
    "LicenseQuerySet",
    "LicenseType",
    "MatchCorpus",
    "MatchTermStat",
    "NeedsTerm",
    "Offer",
    "OfferMilestone",
    "OfferPatent",
    "OfferQuerySet",
    "OfferShape",
    "OfferTerm",
    "Patent",
    "PatentCost",
    "Payment",
    "PaymentReport",
    "PayoutBatch",
    "PayoutItem",
    "PrivateStorage",
    "Push",
    "PushCampaign",
    "PushConsent",
    "RateLimit",
    "Recordal",
    "Reminder",
    "ReminderSchedule",
    "ReportingPeriod",
    "RoyaltyBase",
    "RoyaltyReport",
    "StaffProfile",
    "SweepMark",
    "SystemReason",
    "Tally",
    "_offsets_validator",
    "allows",
    "attachment_path",
    "contract_document_path",
    "export_path",
    "invoice_path",
    "is_fraction",
    "is_money",
    "new_token",
    "package_life",
    "person_name",
    "private_storage",
    "receipt_path",
    "refuses_with",
    "transition_label",
    "why_not",
]
