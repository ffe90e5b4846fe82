"""Dutch names and help texts of the region settings, for the settings screen and for the
validation messages (``backend.errors`` names a refused field with its label).

Kept free of imports, so that ``backend.errors`` can use the labels without importing a domain.
"""

from __future__ import annotations

# name -> (label, help text). The label also names the field in a 422 message, so it reads well
# at the start of a sentence ("Beschikbaarheidsdeel mag hoogstens 1 zijn").
SETTING_DOCS: dict[str, tuple[str, str]] = {
    "availability_share": (
        "Beschikbaarheidsdeel",
        "Welk deel van het dagtarief een lege gecontracteerde plaats krijgt bij de nacalculatie: een getal van 0 "
        "tot en met 1 (0,75 is driekwart). De aanbestedingsstukken zeggen alleen dat lege plaatsen 'deels' worden "
        "betaald; het deel is dus een keuze van de regio.",
    ),
    "availability_share_by_care_form": (
        "Beschikbaarheidsdeel per zorgvorm",
        "Een afwijkend deel voor een zorgvorm (0 tot en met 1); leeg betekent: het standaarddeel hierboven.",
    ),
    "availability_share_by_group": (
        "Beschikbaarheidsdeel per groep",
        "Een afwijkend deel voor één groep (groepsnummer, 0 tot en met 1); gaat boven het deel per zorgvorm.",
    ),
    "fund_not_admitting_nights": (
        "Vergoeding bij opnamestop",
        "Krijgen nachten waarin een groep 'geen opname' had gemeld toch beschikbaarheidsvergoeding? De "
        "nacalculatie toont die nachten in een eigen kolom en betaalt ze alleen als dit aan staat.",
    ),
    "intensity_bands": (
        "Intensiteitstabel",
        "Per letter de ondergrens in netto roosteruren per kind per dag (ondergrens telt mee). De letters lopen "
        "vanaf A op volgorde (tot hoogstens S), de eerste ondergrens is 0 en de ondergrenzen lopen op, zonder "
        "gaten of dubbelingen. De bovenste letter geldt voor alles daarboven.",
    ),
    "family_home_max_children": (
        "Maximum kinderen per gezinshuis",
        "Hoeveel kinderen een gezinshuis hoogstens opneemt (1 tot en met 12; landelijk gebruikelijk: 6).",
    ),
    "hold_minutes": (
        "Duur van een crisisreservering (minuten)",
        "Hoe lang de crisisdienst een plek vasthoudt terwijl de jongere onderweg is (5 tot en met 1440). "
        "Leeg: de standaard van de dienst.",
    ),
    "neighbours": (
        "Buurregio's",
        "Codes van de jeugdregio's die de crisiszoekfunctie direct na de eigen regio toont, bijvoorbeeld JZ07.",
    ),
    "proposal_expiry_hours": (
        "Geldigheid plaatsingsvoorstel (uren)",
        "Hoe lang een aanbieder heeft om een plaatsingsvoorstel te beantwoorden; daarna komt de plek weer vrij "
        "(meer dan 0, hoogstens 336). Leeg: de standaard van de dienst.",
    ),
    "stale_after_hours": (
        "Verouderd na (uren)",
        "Na hoeveel uur zonder nieuwe melding de beschikbaarheid van een groep als verouderd geldt (meer dan 0, "
        "hoogstens 336). Leeg: de standaard van de dienst. Geldt voor de groepen van deze regio op elk scherm: "
        "regio-overzicht, aanbiederscherm, crisiszoeken en matching.",
    ),
    "coordinator_contact": (
        "Contact coördinatiepunt",
        "Wie een aanbieder belt of mailt over een plaatsingsvoorstel, bijvoorbeeld 'Coördinatiepunt Twente, "
        "053 481 00 00, plaatsing@example.nl'. Staat op elk voorstel dat een aanbieder krijgt.",
    ),
    "proposal_expiring_hours": (
        "Herinnering voor verlopen voorstel (uren)",
        "Hoeveel uur voor het verlopen van een open plaatsingsvoorstel de aanbieder een herinnering krijgt.",
    ),
    "stale_notice_hours": (
        "Herinnering bij oude plaatsen (uren)",
        "Na hoeveel uur zonder nieuwe melding de aanbieder een herinnering krijgt, met een link om met één klik "
        "te bevestigen dat er niets veranderd is (24 uur geldig).",
    ),
    "waiting_notice_days": (
        "Melding bij lang wachten (dagen)",
        "Na hoeveel dagen zonder plaatsingsvoorstel het coördinatiepunt een melding krijgt over een wachtende jongere.",
    ),
    "matching_weights": (
        "Matchinggewichten",
        "Hoe zwaar elk onderdeel van de matchingscore telt. De eerste vier (zorginhoud, intensiteit, afstand, "
        "voorkeur zorgvorm) tellen samen op tot de hoogste score.",
    ),
    "profile_c_limit": (
        "Maximum jongeren met profiel C per groep",
        "Hoeveel jongeren met risicoprofiel C (moeilijk planbaar, hoog escalatierisico) de matching hoogstens "
        "in één groep plaatst (0 tot en met 20).",
    ),
    "matching_time_limit_s": (
        "Rekentijd matching (seconden)",
        "Hoe lang een matchingronde hoogstens rekent (meer dan 0, hoogstens 120).",
    ),
    "decline_reasons": (
        "Afwijsredenen",
        "De redenen waaruit een aanbieder kiest bij het afwijzen van een voorstel. De code blijft altijd bestaan "
        "(rapportages tellen op de code); een reden die niet meer gekozen mag worden zet u op 'vervallen'. "
        "Een nieuwe reden krijgt een nieuwe code (kleine letters, cijfers en _).",
    ),
    "crisis_loss_target": (
        "Doel kans op geen crisisplek",
        "De kans dat een jongere geen vrije crisisplaats vindt die de regio nog aanvaardt (meer dan 0 en minder "
        "dan 1; 0,05 is 5%). De capaciteitsplanner adviseert het kleinste aantal plaatsen dat onder dit doel "
        "blijft; in de planner kunt u een ander doel proberen zonder deze instelling te wijzigen.",
    ),
    "compliance_days_running": (
        "Datakwaliteit: dagen achter elkaar",
        "Na zoveel dagen achter elkaar zonder bijgewerkte vrije plaatsen voldoet een groep niet aan de "
        "meldplicht (1 tot en met 31; standaard 2).",
    ),
    "compliance_days_per_month": (
        "Datakwaliteit: dagen per maand",
        "Na zoveel dagen in één kalendermaand zonder bijgewerkte vrije plaatsen voldoet een groep niet aan de "
        "meldplicht (1 tot en met 31; standaard 5).",
    ),
}

# The matching weights, by their solver names.
WEIGHT_DOCS: dict[str, tuple[str, str]] = {
    "need": ("Zorginhoud", "Past de expertise van de groep bij de hulpvragen van de jongere."),
    "intensity": ("Intensiteit", "Zo licht als mogelijk, zo zwaar als nodig."),
    "distance": ("Afstand", "Dicht bij thuis, school en netwerk."),
    "care_form_preference": ("Voorkeur zorgvorm", "De eerste keuze van de verwijzer weegt het zwaarst."),
    "priority": ("Voorrang", "Hoe zwaar urgentie en wachttijd tellen in een matchingronde."),
    "placement_bonus": (
        "Plaatsingsbonus",
        "Waarde van elke geplaatste jongere in een ronde; groter dan 1 zodat niemand blijft liggen voor een "
        "betere match van een ander.",
    ),
    "distance_scale_km": (
        "Afstandsschaal (km)",
        "Hoe snel de afstandsscore daalt: op deze afstand is ze nog ruim een derde (0,37).",
    ),
    "intensity_step_penalty": ("Aftrek per intensiteitsstap", "Aftrek per letter zwaarder dan nodig."),
    "waiting_days_full": ("Volle wachttijd (dagen)", "Na zoveel dagen wachten telt de wachttijd volledig."),
}

# Labels for validation messages: the settings, and the parts of a decline reason.
FIELD_LABELS: dict[str, str] = {name: label for name, (label, _help) in SETTING_DOCS.items()}
