"""What an audit row says was done: every action code the code writes, with its Dutch label.

The code (``referral.read``) is stored and exported as it is; people read the label. A new
action without a label is found by ``tests/backend/audit/test_actions.py``; an unknown code
(an old row) is shown as itself rather than hidden.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    "access.refused": "Toegang geweigerd",
    "api_key.create": "API-sleutel aangemaakt",
    "api_key.revoke": "API-sleutel ingetrokken",
    "audit.export": "Auditlog gedownload",
    "audit.read": "Auditlog ingezien",
    "availability.feed": "Vrije plaatsen bijgewerkt uit de bezettingsfeed",
    "availability.places_from_feed": "Vrije plaatsen volgen de bezettingsfeed (aan/uit)",
    "availability.update": "Beschikbaarheid gemeld",
    "draft.discard": "Concept verwijderd",
    "draft.read": "Concept ingezien",
    "draft.save": "Concept bewaard",
    "group.profile": "Groepsprofiel gewijzigd",
    "group.staffing": "Roosteruren gewijzigd",
    "hold.confirm": "Crisisplek: aankomst bevestigd",
    "hold.create": "Crisisplek vastgehouden",
    "hold.expire": "Vasthouding verlopen",
    "hold.read": "Vasthoudingen ingezien",
    "hold.reject": "Vasthouding afgewezen door aanbieder",
    "hold.release": "Vasthouding vrijgegeven",
    "intensity.decide": "Intensiteit beoordeeld",
    "matching.run": "Batchrun berekend",
    "matching.run.read": "Batchrun ingezien",
    "notification_preference.change": "Meldingsvoorkeuren gewijzigd",
    "occupancy.admission": "Opname gemeld",
    "occupancy.discharge": "Vertrek gemeld",
    "occupancy.events.ingest": "Bezettingsgebeurtenissen ontvangen",
    "occupancy.events.read": "Bezettingsgebeurtenissen ingezien",
    "occupancy.stays.read": "Verblijven ingezien",
    "placement.arrival_withdrawn": "Aankomst teruggedraaid",
    "placement.arrive": "Aankomst gemeld",
    "placement.cancelled": "Plaatsing gaat niet door",
    "placement.discharge": "Uitstroom gemeld",
    "placement.list": "Plaatsingen ingezien",
    "placement.no_show": "Jeugdige niet verschenen",
    "placement.read": "Plaatsing ingezien",
    "placement.transfer": "Overplaatsing",
    "post_calculation.finalise": "Nacalculatie vastgesteld",
    "proposal.accept": "Voorstel geaccepteerd",
    "proposal.create": "Voorstel verstuurd",
    "proposal.decline": "Voorstel afgewezen",
    "proposal.expire": "Voorstel verlopen",
    "proposal.list": "Voorstellen ingezien",
    "proposal.read": "Voorstel ingezien",
    "proposal.withdraw": "Voorstel ingetrokken",
    "provider_contact.add": "Contactpersoon voor meldingen toegevoegd",
    "provider_contact.remove": "Contactpersoon voor meldingen verwijderd",
    "referral.create": "Verwijzing aangemaakt",
    "referral.explain": "Uitleg van een match ingezien",
    "referral.list": "Verwijzingen ingezien",
    "referral.options": "Opties voor een verwijzing berekend",
    "referral.read": "Verwijzing ingezien",
    "referral.timeline": "Tijdlijn van een verwijzing ingezien",
    "referral.update": "Verwijzing gewijzigd",
    "referral.withdraw": "Verwijzing ingetrokken",
    "region.settings_change": "Regio-instellingen gewijzigd",
    "register.contract_term": "Contractversie toegevoegd",
    "register.group": "Groep in het contractregister gewijzigd",
    "register.import": "Contractregister geïmporteerd",
    "register.location": "Locatie in het contractregister gewijzigd",
    "register.places_approved": "Plaatsenaanvraag goedgekeurd",
    "register.places_rejected": "Plaatsenaanvraag afgewezen",
    "register.places_requested": "Plaatsen aangevraagd",
    "register.provider": "Aanbieder in het contractregister gewijzigd",
    "user.create": "Gebruiker aangemaakt",
    "user.deactivate": "Gebruiker op non-actief gezet",
    "user.mfa_enrolled": "Tweestapsverificatie ingesteld",
    "user.mfa_recovery_code_used": "Herstelcode gebruikt",
    "user.mfa_reenrolled": "Tweestapsverificatie opnieuw ingesteld",
    "user.mfa_reset": "Tweestapsverificatie gewist",
    "user.mfa_secrets_rotated": "Geheimen voor tweestapsverificatie vernieuwd",
    "user.password_reset": "Code voor nieuw wachtwoord gegeven",
    "user.password_set": "Wachtwoord ingesteld",
    "user.reactivate": "Gebruiker weer actief",
    "user.role_change": "Rol gewijzigd",
    "webhook_endpoint.add": "Webhook-adres toegevoegd",
    "webhook_endpoint.remove": "Webhook-adres verwijderd",
    "whatif.run": "Wat-als-simulatie gestart",
}


def label(code: str) -> str:
    """The Dutch words for an action; an unknown (old) code as itself."""
    return LABELS.get(code, code)


def actor_text(actor: str) -> str:
    """Who acted, in words: the person's name for "user:12:anna", the key's name for an API key,
    "beheer via de opdrachtregel (naam)" for the command line; anything else as itself. The role
    has its own column."""
    kind, _, rest = actor.partition(":")
    name = rest.partition(":")[2]
    if kind == "user" and name:
        return name
    if kind == "api_key" and name:
        return f"API-sleutel {name}"
    if kind == "cli":
        return f"opdrachtregel ({name})" if name else "opdrachtregel"
    words = {"system": "het systeem", "demo": "demogegevens", "anonymous": "niet ingelogd"}
    return words.get(kind, actor)
