"""The 14 Twente municipalities, for the demo data.

The centres are the means of each municipality's address-postcode centroids (DOMAIN.md); they are
facts the demo may carry in code, since users outside this repository do not have ``../shared``.
"""

TWENTE_MUNICIPALITIES = [
    # name, CBS code, lat, lon, a postcode area
    ("Almelo", "GM0141", 52.356, 6.659, "7600"),
    ("Borne", "GM0147", 52.309, 6.750, "7621"),
    ("Dinkelland", "GM1774", 52.374, 6.900, "7561"),
    ("Enschede", "GM0153", 52.218, 6.891, "7511"),
    ("Haaksbergen", "GM0158", 52.165, 6.741, "7481"),
    ("Hellendoorn", "GM0163", 52.391, 6.497, "7441"),
    ("Hengelo", "GM0164", 52.267, 6.793, "7551"),
    ("Hof van Twente", "GM1735", 52.234, 6.615, "7471"),
    ("Losser", "GM0168", 52.280, 7.002, "7581"),
    ("Oldenzaal", "GM0173", 52.309, 6.921, "7571"),
    ("Rijssen-Holten", "GM1742", 52.295, 6.472, "7451"),
    ("Tubbergen", "GM0183", 52.410, 6.756, "7651"),
    ("Twenterand", "GM1700", 52.443, 6.604, "7671"),
    ("Wierden", "GM0189", 52.343, 6.551, "7641"),
]
