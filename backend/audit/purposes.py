"""Why a row was written to the audit log: the purpose from one fixed list (NEN 7513 asks for
the reason of every access to a youth's data, and free text cannot be searched or checked).

Each code is stable (it is stored and exported); the Dutch label is what people read. A code
that is not in this list is a programming error: ``audit.record`` refuses it and
``tests/backend/audit/test_purposes.py`` finds every purpose the code passes.
"""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    # Each member's name is its value, so that a database driver that stores an enum by its
    # name (psycopg does) stores the code too.
    availability_report = "availability_report"
    demo_data = "demo_data"
    referral_intake = "referral_intake"
    referral_review = "referral_review"
    waiting_list_review = "waiting_list_review"
    referral_update = "referral_update"
    referral_withdrawal = "referral_withdrawal"
    matching_options = "matching_options"
    matching_explanation = "matching_explanation"
    matching_run = "matching_run"
    matching_review = "matching_review"
    proposal_send = "proposal_send"
    proposal_review = "proposal_review"
    proposal_accept = "proposal_accept"
    proposal_decline = "proposal_decline"
    proposal_expiry = "proposal_expiry"
    placement_review = "placement_review"
    placement_arrival = "placement_arrival"
    placement_no_show = "placement_no_show"
    placement_discharge = "placement_discharge"
    placement_transfer = "placement_transfer"
    crisis_hold = "crisis_hold"
    crisis_arrival = "crisis_arrival"
    crisis_release = "crisis_release"
    crisis_reject = "crisis_reject"
    crisis_expiry = "crisis_expiry"
    crisis_review = "crisis_review"
    occupancy_feed = "occupancy_feed"
    occupancy_placement = "occupancy_placement"
    occupancy_check = "occupancy_check"
    staffing = "staffing"
    intensity_reassessment = "intensity_reassessment"
    group_profile = "group_profile"
    contract_register = "contract_register"
    contract_term_start = "contract_term_start"
    places_request = "places_request"
    register_import = "register_import"
    region_settings = "region_settings"
    post_calculation = "post_calculation"
    audit_review = "audit_review"
    audit_export = "audit_export"
    access_refused = "access_refused"
    account_security = "account_security"
    account_management = "account_management"
    draft = "draft"
    notification_settings = "notification_settings"
    whatif_simulation = "whatif_simulation"


LABELS: dict[Purpose, str] = {
    Purpose.availability_report: "Beschikbaarheid melden",
    Purpose.demo_data: "Demodata laden",
    Purpose.referral_intake: "Verwijzing invoeren voor matching",
    Purpose.referral_review: "Verwijzing inzien",
    Purpose.waiting_list_review: "Wachtlijst inzien",
    Purpose.referral_update: "Verwijzing bijwerken",
    Purpose.referral_withdrawal: "Verwijzing intrekken",
    Purpose.matching_options: "Passende plekken zoeken",
    Purpose.matching_explanation: "Uitleg van een plek bekijken",
    Purpose.matching_run: "Wachtenden in één keer matchen",
    Purpose.matching_review: "Matchingresultaat bekijken",
    Purpose.proposal_send: "Plaatsingsvoorstel versturen",
    Purpose.proposal_review: "Plaatsingsvoorstel beoordelen",
    Purpose.proposal_accept: "Plaatsingsvoorstel accepteren",
    Purpose.proposal_decline: "Plaatsingsvoorstel afwijzen",
    Purpose.proposal_expiry: "Plaatsingsvoorstel niet op tijd beantwoord",
    Purpose.placement_review: "Plaatsingen inzien",
    Purpose.placement_arrival: "Aankomst van een jongere vastleggen (start zorg)",
    Purpose.placement_no_show: "Aankomst gaat niet door (niet verschenen of afgezegd)",
    Purpose.placement_discharge: "Uitstroom vastleggen (einde zorg)",
    Purpose.placement_transfer: "Overplaatsing naar een andere groep",
    Purpose.crisis_hold: "Crisisplaats vasthouden",
    Purpose.crisis_arrival: "Crisisplaatsing bevestigen bij aankomst",
    Purpose.crisis_release: "Vastgehouden crisisplaats vrijgeven",
    Purpose.crisis_reject: "Vasthouding afwijzen (aanbieder)",
    Purpose.crisis_expiry: "Vasthoudtijd verstreken",
    Purpose.crisis_review: "Vastgehouden plaatsen inzien",
    Purpose.occupancy_feed: "Bezettingsfeed verwerken (opnames en ontslagen)",
    Purpose.occupancy_placement: "Bezetting bijwerken na een plaatsing",
    Purpose.occupancy_check: "Controle van de bezettingsfeed",
    Purpose.staffing: "Capaciteit en roosteruren bijhouden",
    Purpose.intensity_reassessment: "Herbeoordeling verblijfsintensiteit",
    Purpose.group_profile: "Groepsprofiel bijhouden",
    Purpose.contract_register: "Contractregister bijhouden",
    Purpose.contract_term_start: "Contractversie wordt geldig",
    Purpose.places_request: "Aanvraag plaatsen beoordelen",
    Purpose.register_import: "Contractregister inlezen",
    Purpose.region_settings: "Regio-instellingen wijzigen",
    Purpose.post_calculation: "Nacalculatie vaststellen",
    Purpose.audit_review: "Auditlog inzien (privacytoezicht)",
    Purpose.audit_export: "Auditlog exporteren (privacytoezicht)",
    Purpose.access_refused: "Toegang geweigerd (geen doel vastgesteld)",
    Purpose.account_security: "Beveiliging van een account (tweede factor, herstelcodes)",
    Purpose.account_management: "Gebruikers en API-sleutels beheren",
    Purpose.draft: "Half ingevuld formulier bewaren of terughalen",
    Purpose.notification_settings: "Meldingen, contactpersonen en webhooks instellen",
    Purpose.whatif_simulation: "Wat-als-simulatie van de plaatsingen in een periode (geaggregeerd)",
}


def label(code: str | None) -> str:
    """The Dutch label of a stored code; an unknown one (rows from before the fixed list) as is."""
    if code is None:
        return ""
    try:
        return LABELS[Purpose(code)]
    except ValueError:
        return code
