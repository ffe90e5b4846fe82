"""The Dutch name of every input field of the API, for the messages a user reads.

A refused field is named by its label, never by its code: "crisiscode: gebruik een korte code"
rather than "crisis_reference: ...". ``backend.errors`` looks every part of a field's location up
here; ``tests/backend/test_field_labels.py`` checks that every body field and parameter of the API
document has a label, so a new field cannot leak its code into a message.

Labels are lowercase (they open a sentence fragment that the frontend joins with others); the
region settings keep their own capitalised labels from ``backend/regions/setting_docs.py``.
Kept free of imports from the domains, so ``backend.errors`` can use it without a cycle.
"""

from __future__ import annotations

from backend.regions.setting_docs import FIELD_LABELS as REGION_SETTING_LABELS
from backend.regions.setting_docs import WEIGHT_DOCS

FIELD_LABELS: dict[str, str] = {
    **{name: label.lower() for name, (label, _help) in WEIGHT_DOCS.items()},
    **REGION_SETTING_LABELS,
    # availability
    "free_places": "vrije plaatsen",
    "admitting": "plaatsen aan",
    "reason": "reden",
    "expected_free_date": "verwachte datum vrij",
    "waiting_list": "wachtlijst",
    "follow_feed": "automatisch uit de bezettingsfeed",
    "min_free": "minimaal aantal vrije plaatsen",
    "admitting_only": "alleen groepen die plaatsen",
    "crisis_only": "alleen crisisgroepen",
    # logging in, accounts and keys
    "username": "gebruikersnaam",
    "password": "wachtwoord",
    "grant_type": "soort aanvraag",
    "scope": "bereik",
    "client_id": "client-id",
    "client_secret": "clientgeheim",
    "refresh_token": "vernieuwingstoken",
    "mfa_token": "inlogstap",
    "code": "code",
    "role": "rol",
    "provider": "aanbieder",
    "region": "regio",
    "manages_provider": "beheert de aanbieder",
    "expires_at": "vervaldatum",
    "name": "naam",
    "user_id": "gebruiker",
    "key_id": "sleutel",
    "include_inactive": "ook inactieve",
    # referrals and matching
    "reference": "referentie",
    "birth_year": "geboortejaar",
    "birth_month": "geboortemaand",
    "gender": "geslacht",
    "risk_profile": "risicoprofiel",
    "required_intensity": "benodigde intensiteit",
    "urgency": "urgentie",
    "needs": "hulpvragen",
    "care_form_preference": "voorkeur zorgvorm",
    "care_forms": "zorgvormen",
    "home_postcode": "postcode thuis",
    "home_municipality": "woongemeente",
    "max_distance_km": "maximale afstand (km)",
    "secure_authorisation": "machtiging gesloten jeugdhulp",
    "sibling_set": "broer-zusgroep",
    "together": "samen plaatsen",
    "excluded_group_ids": "uitgesloten groepen",
    "excluded_provider_ids": "uitgesloten aanbieders",
    "waiting_since": "wachtend sinds",
    "origin_region_code": "herkomstregio",
    "referral_ids": "verwijzingen",
    "send_proposals": "voorstellen direct versturen",
    "time_limit_s": "rekentijd (seconden)",
    "dry_run": "proefberekening",
    "run_id": "matchingronde",
    "youth_record": "jongere",
    # proposals, placements and holds
    "text": "toelichting",
    "expected_arrival": "verwachte aankomst",
    "arrived_at": "aangekomen op",
    "discharged_at": "uitgestroomd op",
    "destination": "uitstroombestemming",
    "stay_reference": "verblijfsreferentie",
    "kind": "soort",
    "crisis_reference": "crisiscode",
    "referral_id": "verwijzing",
    "proposal_id": "plaatsingsvoorstel",
    "placement_id": "plaatsing",
    "hold_id": "crisisreservering",
    "minutes": "duur (minuten)",
    "note": "notitie",
    "reason_code": "reden",
    "age": "leeftijd",
    "postcode": "postcode",
    "lat": "breedtegraad",
    "lon": "lengtegraad",
    "radius_km": "zoekstraal (km)",
    "secure_care": "gesloten jeugdhulp",
    "limit": "aantal",
    # groups, providers, locations and the contract register
    "group_id": "groep",
    "provider_id": "aanbieder",
    "region_id": "regio",
    "region_code": "regiocode",
    "location_id": "locatie",
    "municipality_id": "gemeente",
    "municipality": "gemeente",
    # steering: the crisis capacity planner's what-if target
    "target": "doel (kans dat een jongere geen plek vindt)",
    "care_form": "zorgvorm",
    "capacity": "capaciteit",
    "intensity": "intensiteit",
    "age_min": "leeftijd van",
    "age_max": "leeftijd tot",
    "gender_policy": "gender",
    "risk_profiles": "risicoprofielen",
    "expertise": "expertise",
    "phone_24h": "telefoon (24 uur)",
    "contact_email": "e-mailadres",
    "active_from": "actief vanaf",
    "active_to": "actief tot",
    "level": "niveau",
    "contracted_places": "gecontracteerde plaatsen",
    "day_tariff": "dagtarief",
    "availability_funded": "beschikbaarheidsvergoeding",
    "valid_from": "geldig vanaf",
    "valid_to": "geldig tot",
    "places": "plaatsen",
    "is_crisis": "crisisgroep",
    "weekly_roster_hours": "roosteruren per week",
    "occupancy_norm": "bezettingsnorm",
    "approve": "goedkeuren",
    "term_id": "contractversie",
    "reassessment_id": "herbeoordeling",
    "files": "bestanden",
    # the occupancy feed and the post-calculation
    "events": "gebeurtenissen",
    "event_id": "gebeurtenis-id",
    "cancels_event_id": "ingetrokken gebeurtenis",
    "at": "tijdstip",
    "counts": "tellingen",
    "date": "datum",
    "present": "aanwezig",
    "by_region": "per regio",
    "action": "actie",
    "start": "begin",
    "end": "einde",
    "year": "jaar",
    "format": "bestandsformaat",
    "status": "status",
    "snapshot": "momentopname",
    # the audit log
    "actor": "gebruiker",
    "object_type": "soort object",
    "object_id": "object",
    "purpose": "doel",
    # region settings: the decline reasons' parts
    "label": "omschrijving",
    "retired": "vervallen",
    # drafts of forms and the batch run review
    "form_key": "formulier",
    "data": "inhoud",
    "pins": "vastgezette koppelingen",
    "forbids": "uitgesloten koppelingen",
    "mine": "alleen eigen vasthoudingen",
    # notifications: preferences, contacts, webhooks, the one-click link
    "channels": "kanalen",
    "digest": "dagelijkse samenvatting",
    "quiet_start": "stille uren vanaf",
    "quiet_end": "stille uren tot",
    "email": "e-mailadres",
    "crisis": "crisismeldingen",
    "proposals": "voorstellen",
    "contact_id": "contactpersoon",
    "endpoint_id": "webhook",
    "notification_id": "melding",
    "url": "adres (URL)",
    "description": "omschrijving",
    "token": "link",
    # request headers
    "idempotency-key": "Idempotency-Key",
    "if-match": "If-Match",
}


def field_label(name: str) -> str:
    """The label of one part of a field's location (the name itself when there is none, e.g. a
    key of a map such as a group number)."""
    return FIELD_LABELS.get(name, name)
