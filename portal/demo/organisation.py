"""A demo organisation modelled on the company's measures (営業企画, お客様フロント, バックヤード, agencies)."""
from __future__ import annotations

import random

from portal.org.hr_csv import HrRow

#: (code, 日本語名, English name, kind)
DEMO_DEPARTMENTS = (
    ("SALES-PLAN", "営業企画部", "Sales Planning", "internal"),
    ("CUST-FRONT", "お客様フロント部", "Customer Front", "internal"),
    ("BACKYARD", "バックヤード部", "Back Office", "internal"),
    ("COMPLIANCE", "コンプライアンス推進室", "Compliance Office", "internal"),
    ("AGENCY-TOHOKU", "東北販売株式会社", "Tohoku Sales Co., Ltd.", "agency"),
)

#: Demo sign-ins, one per role: (employee_no, name, kana, department, roles, manages)
DEMO_ACCOUNTS = (
    ("E1001", "髙橋 優子", "たかはし ゆうこ", "CUST-FRONT", "", ""),
    ("M2001", "山﨑 健一", "やまさき けんいち", "CUST-FRONT", "manager", "CUST-FRONT"),
    ("T3001", "佐藤 花子", "さとう はなこ", "COMPLIANCE", "training_admin", ""),
    ("G4001", "𠮷田 誠", "よしだ まこと", "BACKYARD", "grant_owner", ""),
    ("A5001", "伊藤 直樹", "いとう なおき", "COMPLIANCE", "auditor", ""),
    ("S6001", "渡辺 聡", "わたなべ さとし", "COMPLIANCE", "admin", ""),
    ("M2002", "中村 恵", "なかむら めぐみ", "SALES-PLAN", "manager", "SALES-PLAN BACKYARD"),
    ("M2003", "小林 大輔", "こばやし だいすけ", "AGENCY-TOHOKU", "manager", "AGENCY-TOHOKU"),
)
DEMO_PASSWORD = "demo-password-2026"

_FAMILY = [("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"),
           ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"), ("加藤", "かとう"),
           ("吉田", "よしだ"), ("山田", "やまだ"), ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"),
           ("井上", "いのうえ"), ("木村", "きむら"), ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"),
           ("髙木", "たかぎ"), ("宮﨑", "みやざき")]
_GIVEN = [("翔太", "しょうた"), ("美咲", "みさき"), ("大輝", "だいき"), ("陽菜", "ひな"), ("拓海", "たくみ"),
          ("結衣", "ゆい"), ("健太", "けんた"), ("さくら", "さくら"), ("蓮", "れん"), ("葵", "あおい"),
          ("悠斗", "ゆうと"), ("真央", "まお"), ("隆", "たかし"), ("恵子", "けいこ"), ("修", "おさむ")]

#: headcount per demo department, in the spirit of the seed's three-department table
_DEMO_HEADCOUNT = {"SALES-PLAN": 12, "CUST-FRONT": 20, "BACKYARD": 14, "COMPLIANCE": 4, "AGENCY-TOHOKU": 10}


def _row(line: int, employee_no: str, name: str, kana: str, dept: tuple, roles: str = "", manages: str = "") -> HrRow:
    code, name_ja, _name_en, kind = dept
    return HrRow(line=line, employee_no=employee_no, name=name, name_kana=kana,
                 email=f"{employee_no.lower()}@example.co.jp", department_code=code,
                 department_name=name_ja, department_kind=kind, roles=frozenset(roles.split()),
                 manages=tuple(manages.split()), active=True)


def _random_name(rng: random.Random) -> tuple[str, str]:
    family, family_kana = rng.choice(_FAMILY)
    given, given_kana = rng.choice(_GIVEN)
    return f"{family} {given}", f"{family_kana} {given_kana}"


def demo_rows() -> list[HrRow]:
    """The small demo organisation: demo accounts plus staff per department."""
    rng = random.Random(2018)
    depts = {d[0]: d for d in DEMO_DEPARTMENTS}
    rows = [_row(i, no, name, kana, depts[code], roles, manages)
            for i, (no, name, kana, code, roles, manages) in enumerate(DEMO_ACCOUNTS, start=1)]
    line = len(rows)
    for code, count in _DEMO_HEADCOUNT.items():
        for n in range(count):
            line += 1
            name, kana = _random_name(rng)
            rows.append(_row(line, f"{code[:2]}{n + 1:04d}", name, kana, depts[code]))
    return rows


def large_rows(people: int, departments: int) -> list[HrRow]:
    """A large organisation for benchmarks: `departments` units sharing `people` staff."""
    rng = random.Random(50000)
    agency_every = 10
    depts = [
        (f"D{i:04d}", f"第{i}{'販売株式会社' if i % agency_every == 0 else '部'}", f"Unit {i}",
         "agency" if i % agency_every == 0 else "internal")
        for i in range(1, departments + 1)
    ]
    rows = []
    for n in range(people):
        name, kana = _random_name(rng)
        dept = depts[n % departments]
        is_manager = n < departments
        rows.append(_row(n + 1, f"P{n + 1:06d}", name, kana, dept,
                         "manager" if is_manager else "", dept[0] if is_manager else ""))
    return rows
