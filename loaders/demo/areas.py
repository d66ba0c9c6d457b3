"""Area tables for the bundled demo data set (see :mod:`loaders.demo`).

Why a separate module: the generators in ``loaders.demo`` should read like the model they
plant, not like a gazetteer. Everything here is plain data, hard-coded so that the demo
needs no network and never changes under us.

The 153 English upper-tier local authorities use their real GSS codes and names on the
April 2023 boundaries (Cumberland, Westmorland and Furness, North Yorkshire and Somerset
included); figures for earlier years are treated as back-cast to those boundaries, as
official series are. ``population_k`` is roughly the 2021 Census usual resident population
in thousands; ``claimant_rate`` is a plausible 2019 claimant count as a percentage of
residents aged 16 to 64. Both only need realistic magnitudes and realistic spread: the
generators add their own trends and noise.

``kind`` is a coarse settlement type that drives several generator choices:

====  ==========================================  ====================================
kind  meaning                                     used for
====  ==========================================  ====================================
L     Inner London borough                        young working-age share, COVID hit
O     Outer London borough                        as above, a little milder
C     Large city / university city                Type 2 (eye hospital) A&E present
U     Urban or industrial town, metropolitan      the default profile
S     Suburban or shire county                    older, smaller claimant shocks
R     Rural or coastal, older population          low 16-64 share, milder winters
====  ==========================================  ====================================
"""
from __future__ import annotations

from dataclasses import dataclass

ENGLAND_CODE = "E92000001"
ENGLAND_NAME = "England"


@dataclass(frozen=True)
class Region:
    """An English region (ITL1) with the climate the weather generators start from."""

    code: str
    name: str
    temp_mean: float  # annual mean temperature, °C
    temp_amplitude: float  # half the January-to-July swing, °C
    rain_mm: float  # mean monthly rainfall, mm


@dataclass(frozen=True)
class LocalAuthority:
    """An upper-tier local authority: a leaf area of the demo hierarchy."""

    code: str
    name: str
    region: str  # region GSS code
    population_k: float  # usual residents, thousands (2021)
    claimant_rate: float  # claimant count, % of residents aged 16-64 (2019)
    kind: str  # one of L, O, C, U, S, R (see module docstring)


REGIONS: tuple[Region, ...] = (
    Region("E12000001", "North East", 9.4, 6.0, 62.0),
    Region("E12000002", "North West", 10.0, 5.8, 92.0),
    Region("E12000003", "Yorkshire and The Humber", 9.9, 6.2, 66.0),
    Region("E12000004", "East Midlands", 10.3, 6.5, 56.0),
    Region("E12000005", "West Midlands", 10.1, 6.4, 62.0),
    Region("E12000006", "East of England", 10.7, 6.8, 50.0),
    Region("E12000007", "London", 11.7, 6.8, 52.0),
    Region("E12000008", "South East", 11.0, 6.4, 64.0),
    Region("E12000009", "South West", 10.9, 5.5, 86.0),
)

_NE, _NW, _YH, _EM, _WM, _EE, _LON, _SE, _SW = (r.code for r in REGIONS)

LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    # North East
    LocalAuthority("E06000001", "Hartlepool", _NE, 92.3, 5.5, "U"),
    LocalAuthority("E06000002", "Middlesbrough", _NE, 143.9, 6.0, "U"),
    LocalAuthority("E06000003", "Redcar and Cleveland", _NE, 136.5, 4.6, "U"),
    LocalAuthority("E06000004", "Stockton-on-Tees", _NE, 196.6, 3.8, "U"),
    LocalAuthority("E06000005", "Darlington", _NE, 107.8, 3.6, "U"),
    LocalAuthority("E06000047", "County Durham", _NE, 522.1, 3.2, "S"),
    LocalAuthority("E06000057", "Northumberland", _NE, 320.6, 2.8, "R"),
    LocalAuthority("E08000021", "Newcastle upon Tyne", _NE, 300.2, 3.9, "C"),
    LocalAuthority("E08000022", "North Tyneside", _NE, 209.0, 3.0, "U"),
    LocalAuthority("E08000023", "South Tyneside", _NE, 147.8, 4.7, "U"),
    LocalAuthority("E08000024", "Sunderland", _NE, 274.2, 4.2, "U"),
    LocalAuthority("E08000037", "Gateshead", _NE, 196.1, 3.7, "U"),
    # North West
    LocalAuthority("E06000006", "Halton", _NW, 128.5, 3.9, "U"),
    LocalAuthority("E06000007", "Warrington", _NW, 210.9, 2.2, "U"),
    LocalAuthority("E06000008", "Blackburn with Darwen", _NW, 154.8, 3.9, "U"),
    LocalAuthority("E06000009", "Blackpool", _NW, 141.0, 5.0, "U"),
    LocalAuthority("E06000049", "Cheshire East", _NW, 398.8, 1.7, "S"),
    LocalAuthority("E06000050", "Cheshire West and Chester", _NW, 357.2, 2.4, "S"),
    LocalAuthority("E06000063", "Cumberland", _NW, 274.0, 2.6, "R"),
    LocalAuthority("E06000064", "Westmorland and Furness", _NW, 225.0, 1.4, "R"),
    LocalAuthority("E08000001", "Bolton", _NW, 296.0, 3.7, "U"),
    LocalAuthority("E08000002", "Bury", _NW, 193.8, 2.8, "U"),
    LocalAuthority("E08000003", "Manchester", _NW, 551.9, 4.5, "C"),
    LocalAuthority("E08000004", "Oldham", _NW, 242.1, 4.1, "U"),
    LocalAuthority("E08000005", "Rochdale", _NW, 223.7, 3.9, "U"),
    LocalAuthority("E08000006", "Salford", _NW, 270.0, 3.5, "U"),
    LocalAuthority("E08000007", "Stockport", _NW, 294.8, 2.3, "U"),
    LocalAuthority("E08000008", "Tameside", _NW, 231.1, 3.4, "U"),
    LocalAuthority("E08000009", "Trafford", _NW, 235.1, 2.1, "U"),
    LocalAuthority("E08000010", "Wigan", _NW, 329.3, 2.9, "U"),
    LocalAuthority("E08000011", "Knowsley", _NW, 154.5, 4.3, "U"),
    LocalAuthority("E08000012", "Liverpool", _NW, 486.1, 4.6, "C"),
    LocalAuthority("E08000013", "St. Helens", _NW, 183.2, 3.2, "U"),
    LocalAuthority("E08000014", "Sefton", _NW, 279.3, 3.5, "U"),
    LocalAuthority("E08000015", "Wirral", _NW, 320.2, 3.9, "U"),
    LocalAuthority("E10000017", "Lancashire", _NW, 1235.4, 2.4, "S"),
    # Yorkshire and The Humber
    LocalAuthority("E06000010", "Kingston upon Hull, City of", _YH, 267.1, 5.6, "U"),
    LocalAuthority("E06000011", "East Riding of Yorkshire", _YH, 342.2, 1.9, "R"),
    LocalAuthority("E06000012", "North East Lincolnshire", _YH, 156.9, 4.4, "U"),
    LocalAuthority("E06000013", "North Lincolnshire", _YH, 169.7, 2.9, "U"),
    LocalAuthority("E06000014", "York", _YH, 202.8, 1.3, "C"),
    LocalAuthority("E06000065", "North Yorkshire", _YH, 615.5, 1.3, "R"),
    LocalAuthority("E08000016", "Barnsley", _YH, 244.6, 3.0, "U"),
    LocalAuthority("E08000017", "Doncaster", _YH, 308.1, 3.5, "U"),
    LocalAuthority("E08000018", "Rotherham", _YH, 265.8, 3.3, "U"),
    LocalAuthority("E08000019", "Sheffield", _YH, 556.5, 3.1, "C"),
    LocalAuthority("E08000032", "Bradford", _YH, 546.4, 4.6, "U"),
    LocalAuthority("E08000033", "Calderdale", _YH, 206.6, 3.1, "U"),
    LocalAuthority("E08000034", "Kirklees", _YH, 433.2, 3.3, "U"),
    LocalAuthority("E08000035", "Leeds", _YH, 812.0, 2.8, "C"),
    LocalAuthority("E08000036", "Wakefield", _YH, 353.3, 3.0, "U"),
    # East Midlands
    LocalAuthority("E06000015", "Derby", _EM, 261.4, 3.3, "U"),
    LocalAuthority("E06000016", "Leicester", _EM, 368.6, 3.5, "C"),
    LocalAuthority("E06000017", "Rutland", _EM, 41.0, 0.8, "R"),
    LocalAuthority("E06000018", "Nottingham", _EM, 323.7, 4.5, "C"),
    LocalAuthority("E06000061", "North Northamptonshire", _EM, 359.5, 2.6, "S"),
    LocalAuthority("E06000062", "West Northamptonshire", _EM, 425.7, 2.4, "S"),
    LocalAuthority("E10000007", "Derbyshire", _EM, 794.6, 1.9, "S"),
    LocalAuthority("E10000018", "Leicestershire", _EM, 712.4, 1.4, "S"),
    LocalAuthority("E10000019", "Lincolnshire", _EM, 768.4, 2.1, "R"),
    LocalAuthority("E10000024", "Nottinghamshire", _EM, 824.8, 2.2, "S"),
    # West Midlands
    LocalAuthority("E06000019", "Herefordshire, County of", _WM, 187.1, 1.6, "R"),
    LocalAuthority("E06000020", "Telford and Wrekin", _WM, 185.6, 2.9, "U"),
    LocalAuthority("E06000021", "Stoke-on-Trent", _WM, 258.4, 3.6, "U"),
    LocalAuthority("E06000051", "Shropshire", _WM, 323.6, 1.5, "R"),
    LocalAuthority("E08000025", "Birmingham", _WM, 1144.9, 6.4, "C"),
    LocalAuthority("E08000026", "Coventry", _WM, 345.3, 3.1, "C"),
    LocalAuthority("E08000027", "Dudley", _WM, 323.5, 3.6, "U"),
    LocalAuthority("E08000028", "Sandwell", _WM, 341.9, 4.7, "U"),
    LocalAuthority("E08000029", "Solihull", _WM, 216.2, 2.4, "S"),
    LocalAuthority("E08000030", "Walsall", _WM, 284.1, 4.5, "U"),
    LocalAuthority("E08000031", "Wolverhampton", _WM, 263.7, 6.0, "U"),
    LocalAuthority("E10000028", "Staffordshire", _WM, 876.1, 1.8, "S"),
    LocalAuthority("E10000031", "Warwickshire", _WM, 596.8, 1.6, "S"),
    LocalAuthority("E10000034", "Worcestershire", _WM, 603.7, 1.8, "S"),
    # East of England
    LocalAuthority("E06000031", "Peterborough", _EE, 215.7, 3.5, "U"),
    LocalAuthority("E06000032", "Luton", _EE, 225.3, 3.6, "U"),
    LocalAuthority("E06000033", "Southend-on-Sea", _EE, 180.6, 3.4, "U"),
    LocalAuthority("E06000034", "Thurrock", _EE, 176.0, 2.7, "U"),
    LocalAuthority("E06000055", "Bedford", _EE, 185.3, 2.6, "U"),
    LocalAuthority("E06000056", "Central Bedfordshire", _EE, 294.2, 1.5, "S"),
    LocalAuthority("E10000003", "Cambridgeshire", _EE, 678.6, 1.3, "S"),
    LocalAuthority("E10000012", "Essex", _EE, 1503.5, 2.0, "S"),
    LocalAuthority("E10000015", "Hertfordshire", _EE, 1198.8, 1.8, "S"),
    LocalAuthority("E10000020", "Norfolk", _EE, 916.1, 2.0, "R"),
    LocalAuthority("E10000029", "Suffolk", _EE, 760.7, 1.9, "R"),
    # London
    LocalAuthority("E09000001", "City of London", _LON, 8.6, 1.5, "L"),
    LocalAuthority("E09000002", "Barking and Dagenham", _LON, 218.9, 3.8, "O"),
    LocalAuthority("E09000003", "Barnet", _LON, 389.3, 2.4, "O"),
    LocalAuthority("E09000004", "Bexley", _LON, 246.5, 2.2, "O"),
    LocalAuthority("E09000005", "Brent", _LON, 339.8, 3.3, "O"),
    LocalAuthority("E09000006", "Bromley", _LON, 330.0, 1.9, "O"),
    LocalAuthority("E09000007", "Camden", _LON, 210.1, 2.6, "L"),
    LocalAuthority("E09000008", "Croydon", _LON, 390.8, 3.3, "O"),
    LocalAuthority("E09000009", "Ealing", _LON, 367.1, 2.9, "O"),
    LocalAuthority("E09000010", "Enfield", _LON, 330.0, 3.4, "O"),
    LocalAuthority("E09000011", "Greenwich", _LON, 289.1, 3.2, "O"),
    LocalAuthority("E09000012", "Hackney", _LON, 259.2, 4.2, "L"),
    LocalAuthority("E09000013", "Hammersmith and Fulham", _LON, 183.2, 2.8, "L"),
    LocalAuthority("E09000014", "Haringey", _LON, 264.2, 3.8, "L"),
    LocalAuthority("E09000015", "Harrow", _LON, 261.2, 2.2, "O"),
    LocalAuthority("E09000016", "Havering", _LON, 262.0, 2.3, "O"),
    LocalAuthority("E09000017", "Hillingdon", _LON, 305.9, 2.2, "O"),
    LocalAuthority("E09000018", "Hounslow", _LON, 288.2, 2.5, "O"),
    LocalAuthority("E09000019", "Islington", _LON, 216.6, 3.6, "L"),
    LocalAuthority("E09000020", "Kensington and Chelsea", _LON, 143.4, 2.4, "L"),
    LocalAuthority("E09000021", "Kingston upon Thames", _LON, 168.1, 1.5, "O"),
    LocalAuthority("E09000022", "Lambeth", _LON, 317.6, 4.0, "L"),
    LocalAuthority("E09000023", "Lewisham", _LON, 300.6, 3.7, "L"),
    LocalAuthority("E09000024", "Merton", _LON, 215.2, 2.1, "O"),
    LocalAuthority("E09000025", "Newham", _LON, 351.1, 3.2, "L"),
    LocalAuthority("E09000026", "Redbridge", _LON, 310.3, 2.6, "O"),
    LocalAuthority("E09000027", "Richmond upon Thames", _LON, 195.2, 1.3, "O"),
    LocalAuthority("E09000028", "Southwark", _LON, 307.6, 3.6, "L"),
    LocalAuthority("E09000029", "Sutton", _LON, 209.6, 1.8, "O"),
    LocalAuthority("E09000030", "Tower Hamlets", _LON, 310.3, 3.8, "L"),
    LocalAuthority("E09000031", "Waltham Forest", _LON, 278.4, 2.9, "O"),
    LocalAuthority("E09000032", "Wandsworth", _LON, 327.5, 2.2, "L"),
    LocalAuthority("E09000033", "Westminster", _LON, 204.3, 2.5, "L"),
    # South East
    LocalAuthority("E06000035", "Medway", _SE, 279.8, 3.1, "U"),
    LocalAuthority("E06000036", "Bracknell Forest", _SE, 124.6, 1.5, "S"),
    LocalAuthority("E06000037", "West Berkshire", _SE, 161.6, 1.2, "S"),
    LocalAuthority("E06000038", "Reading", _SE, 174.2, 2.2, "C"),
    LocalAuthority("E06000039", "Slough", _SE, 158.5, 3.0, "U"),
    LocalAuthority("E06000040", "Windsor and Maidenhead", _SE, 153.5, 1.3, "S"),
    LocalAuthority("E06000041", "Wokingham", _SE, 177.5, 0.9, "S"),
    LocalAuthority("E06000042", "Milton Keynes", _SE, 287.1, 2.5, "U"),
    LocalAuthority("E06000043", "Brighton and Hove", _SE, 277.1, 3.1, "C"),
    LocalAuthority("E06000044", "Portsmouth", _SE, 208.1, 3.2, "C"),
    LocalAuthority("E06000045", "Southampton", _SE, 248.9, 3.0, "C"),
    LocalAuthority("E06000046", "Isle of Wight", _SE, 140.4, 2.6, "R"),
    LocalAuthority("E06000060", "Buckinghamshire", _SE, 553.1, 1.4, "S"),
    LocalAuthority("E10000011", "East Sussex", _SE, 545.8, 2.3, "R"),
    LocalAuthority("E10000014", "Hampshire", _SE, 1400.9, 1.4, "S"),
    LocalAuthority("E10000016", "Kent", _SE, 1576.1, 2.6, "S"),
    LocalAuthority("E10000025", "Oxfordshire", _SE, 725.3, 1.1, "S"),
    LocalAuthority("E10000030", "Surrey", _SE, 1203.1, 1.1, "S"),
    LocalAuthority("E10000032", "West Sussex", _SE, 882.7, 1.6, "S"),
    # South West
    LocalAuthority("E06000022", "Bath and North East Somerset", _SW, 193.4, 1.4, "S"),
    LocalAuthority("E06000023", "Bristol, City of", _SW, 472.4, 2.7, "C"),
    LocalAuthority("E06000024", "North Somerset", _SW, 216.7, 1.8, "S"),
    LocalAuthority("E06000025", "South Gloucestershire", _SW, 290.4, 1.3, "S"),
    LocalAuthority("E06000026", "Plymouth", _SW, 264.7, 2.6, "C"),
    LocalAuthority("E06000027", "Torbay", _SW, 139.3, 3.3, "R"),
    LocalAuthority("E06000030", "Swindon", _SW, 233.4, 2.4, "U"),
    LocalAuthority("E06000052", "Cornwall", _SW, 570.3, 2.0, "R"),
    LocalAuthority("E06000053", "Isles of Scilly", _SW, 2.1, 0.7, "R"),
    LocalAuthority("E06000054", "Wiltshire", _SW, 510.4, 1.3, "S"),
    LocalAuthority("E06000058", "Bournemouth, Christchurch and Poole", _SW, 400.3, 2.3, "U"),
    LocalAuthority("E06000059", "Dorset", _SW, 379.6, 1.4, "R"),
    LocalAuthority("E06000066", "Somerset", _SW, 571.6, 1.6, "R"),
    LocalAuthority("E10000008", "Devon", _SW, 811.6, 1.3, "R"),
    LocalAuthority("E10000013", "Gloucestershire", _SW, 645.1, 1.6, "S"),
)

# Local climate that differs from the region's: (temp mean, temp amplitude, rain mm a month).
# Fell and moor country is wetter and cooler; the far south-west has mild, wet winters.
CLIMATE_OVERRIDES: dict[str, tuple[float, float, float]] = {
    "E06000063": (9.0, 5.5, 128.0),  # Cumberland
    "E06000064": (8.8, 5.6, 135.0),  # Westmorland and Furness
    "E06000057": (8.9, 5.7, 68.0),  # Northumberland
    "E06000065": (9.2, 6.0, 72.0),  # North Yorkshire
    "E06000052": (11.3, 4.6, 100.0),  # Cornwall
    "E06000053": (11.9, 3.6, 76.0),  # Isles of Scilly
    "E10000008": (10.6, 5.2, 98.0),  # Devon
    "E06000026": (11.0, 5.0, 90.0),  # Plymouth
    "E06000046": (11.2, 5.6, 66.0),  # Isle of Wight
}

# Local authorities whose residents use a Type 2 (single-specialty, e.g. eye) A&E.
TYPE2_AREAS: frozenset[str] = frozenset(
    la.code for la in LOCAL_AUTHORITIES if la.kind == "C"
)

# Minor injury units only: no Type 1 emergency department for residents' first attendance.
TYPE3_ONLY_AREAS: frozenset[str] = frozenset({"E06000053"})  # Isles of Scilly
