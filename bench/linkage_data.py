"""Synthetic person records with known truth for the linkage benchmark.

``generate(n, seed)`` returns ``(left, right, truth)`` polars DataFrames:

- ``left``: a clean registry (户籍-like): ``person_id, name, sex, birth_date,
  id_number, region, address``; every ID valid (GB 11643 check digit).
- ``right``: a department's records (``rec_id`` and the same columns): 80 % are
  corrupted copies of distinct left persons, 20 % other people; among those,
  namesakes of a left person (same name and county, often the same birth
  date) who carry their own valid ID.
- ``truth``: ``left_id, right_id`` of the true links.

Corruption of the copies (independent draws, rates per record):
ID missing 10 %, one digit substituted 2 %, two adjacent digits transposed 1 %;
name: homophone character 4 %, other character 1.5 %, a rare character
written ``*`` 0.5 % or in pinyin 0.3 %, traditional characters 2 %, a space
or full-width letters 1 %, middle-dot variant for transliterated names;
birth date missing 3 %, one digit 1.5 %, day and month swapped 0.5 %;
county changed 5 %; address missing 20 %, reworded 30 %; sex missing 1 %.

Deterministic for a seed; 1M × 1M takes about a minute.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# the 100 commonest surnames with their approximate shares (%)
SURNAMES = (
    "王7.1 李7.0 张6.7 刘5.4 陈4.5 杨3.1 黄2.2 赵2.0 吴2.0 周1.9 徐1.6 孙1.5 马1.5 朱1.3 胡1.3 郭1.2 何1.2 "
    "高1.1 林1.1 罗0.9 郑0.9 梁0.8 谢0.8 宋0.7 唐0.7 许0.6 韩0.6 冯0.6 邓0.6 曹0.6 彭0.5 曾0.5 肖0.5 田0.5 "
    "董0.5 袁0.5 潘0.4 于0.4 蒋0.4 蔡0.4 余0.4 杜0.4 叶0.4 程0.4 苏0.3 魏0.3 吕0.3 丁0.3 任0.3 沈0.3 姚0.3 "
    "卢0.3 姜0.3 崔0.3 钟0.3 谭0.3 陆0.3 汪0.3 范0.3 金0.3 石0.3 廖0.3 贾0.3 夏0.2 韦0.2 付0.2 方0.2 白0.2 "
    "邹0.2 孟0.2 熊0.2 秦0.2 邱0.2 江0.2 尹0.2 薛0.2 闫0.2 段0.2 雷0.2 侯0.2 龙0.2 史0.2 陶0.2 黎0.2 贺0.2 "
    "顾0.2 毛0.2 郝0.2 龚0.2 邵0.2 万0.2 钱0.2 严0.2 覃0.1 武0.1 戴0.1 莫0.1 孔0.1 欧阳0.05 司马0.02 诸葛0.01"
).split()

GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌宇浩凯鹏飞志鑫波辉健俊峰丹梅琳雪婷"
    "晶慧颖佳欣怡宁雅琪倩莉玲燕秀云莹琴晓春海林涛亮成康波斌鸿宏博文武彬勋毅庆锋旭龙昊天然子轩梓涵若汐"
    "思雨诗彤嘉欣梦瑶晨阳家豪俊杰浩然宇航子豪睿哲铭泽一鸣佳琪欣妍雨萱可馨紫涵语嫣依诺嘉怡婉清芷若安琪"
    "永福贵荣华金银宝发财立新建军卫东红兵志强国庆学文秀兰桂英玉珍凤英淑珍春梅冬梅秋菊兰芳丽娟丽华翠花"
    "德胜利民振华爱国继承富强忠义厚道勤俭光明正大思远致远向阳红旗长青松柏竹菊荷莲芸蓉薇茜蕾蓓琼瑜瑾璐"
    "炜玮巍威薇维卫蔚莉俐利立丽力励婧菁京晶景竞敬境静"
)

# rare characters (for the "written as * or in pinyin" corruption) and their pinyin
RARE = {"燚": "yi", "垚": "yao", "犇": "ben", "淼": "miao", "喆": "zhe", "祎": "yi", "昇": "sheng", "堃": "kun"}

MINORITY_PARTS = ["阿依", "古丽", "买买提", "艾力", "热依", "扎提", "努尔", "麦麦", "吐尔逊", "帕提", "巴图", "其其格"]

PREFECTURES = ["南昌", "景德镇", "萍乡", "九江", "新余", "鹰潭", "赣州", "吉安", "宜春", "抚州", "上饶"]
TOWN_SUFFIX = ["镇", "乡", "街道"]
VILLAGE_SUFFIX = ["村", "社区", "小区"]

_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = np.array(list("10X98765432"))


def check_digits(first17: np.ndarray) -> np.ndarray:
    """GB 11643 check characters for an array of 17-digit strings."""
    digits = np.frombuffer("".join(first17).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    return _CHECK[(digits * _W).sum(axis=1) % 11]


def _zipf_weights(n: int, s: float = 1.0) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _people(rng: np.random.Generator, n: int, counties: np.ndarray, county_names: dict, used_ids: set):
    sur = [s.rstrip("0123456789.") for s in SURNAMES]
    sw = np.array([float(s[len(x):]) for s, x in zip(SURNAMES, sur, strict=True)])
    sw /= sw.sum()
    chars = np.array(list(dict.fromkeys(GIVEN_CHARS)))
    cw = _zipf_weights(len(chars), 0.8)
    rng_perm = rng.permutation(len(chars))
    cw = cw[rng_perm]
    s_idx = rng.choice(len(sur), n, p=sw)
    g1 = chars[rng.choice(len(chars), n, p=cw)]
    g2 = chars[rng.choice(len(chars), n, p=cw)]
    two = rng.random(n) < 0.75
    given = np.where(two, np.char.add(g1, g2), g1)
    names = np.char.add(np.array(sur)[s_idx], given)
    # rare characters in 0.5 % of given names, transliterated names for 1 %
    rare_keys = np.array(list(RARE))
    is_rare = rng.random(n) < 0.005
    names[is_rare] = np.char.add(np.char.add(np.array(sur)[s_idx[is_rare]], rare_keys[rng.integers(0, len(RARE), is_rare.sum())]), g2[is_rare])
    is_min = rng.random(n) < 0.01
    parts = np.array(MINORITY_PARTS)
    names[is_min] = np.char.add(np.char.add(parts[rng.integers(0, len(parts), is_min.sum())], "·"), parts[rng.integers(0, len(parts), is_min.sum())])

    sex = rng.integers(0, 2, n)  # 1 = male
    days = rng.integers(0, (2015 - 1930) * 365, n)
    birth = (np.datetime64("1930-01-01") + days.astype("timedelta64[D]")).astype(str)
    region = counties[rng.choice(len(counties), n)]
    ymd = np.char.replace(birth, "-", "")
    seq = rng.integers(0, 500, n) * 2 + sex  # odd = male
    first17 = np.char.add(np.char.add(region, ymd), np.char.zfill(seq.astype(str), 3))
    ids = np.char.add(first17, check_digits(first17))
    # make IDs unique (and distinct from earlier batches) by re-drawing the sequence number
    seen = used_ids
    for i in range(n):
        while ids[i] in seen:
            s = int(rng.integers(0, 500)) * 2 + int(sex[i])
            f17 = region[i] + ymd[i] + f"{s:03d}"
            ids[i] = f17 + check_digits(np.array([f17]))[0]
        seen.add(ids[i])
    towns = rng.integers(1, 30, n)
    villages = rng.integers(1, 60, n)
    num = rng.integers(1, 300, n)
    tsuf = np.array(TOWN_SUFFIX)[rng.integers(0, 3, n)]
    vsuf = np.array(VILLAGE_SUFFIX)[rng.integers(0, 3, n)]
    cname = np.array([county_names[c] for c in region])
    address = [
        f"{c}第{t}{ts}{v}{vs}{k}号" for c, t, ts, v, vs, k in zip(cname, towns, tsuf, villages, vsuf, num, strict=True)
    ]
    return {
        "name": names,
        "sex": np.where(sex == 1, "男", "女"),
        "birth_date": birth,
        "id_number": ids,
        "region": region,
        "address": np.array(address),
    }


def _corrupt(rng: np.random.Generator, rec: dict, counties: np.ndarray) -> dict:
    from opencc import OpenCC
    from pypinyin import lazy_pinyin

    n = len(rec["name"])
    out = {k: v.astype(object) for k, v in rec.items()}
    # -- ID
    u = rng.random(n)
    ids = out["id_number"]
    for i in np.nonzero((u >= 0.10) & (u < 0.12))[0]:
        s = list(ids[i])
        p = int(rng.integers(0, 17))
        s[p] = str((int(s[p]) + int(rng.integers(1, 10))) % 10)
        ids[i] = "".join(s)
    for i in np.nonzero((u >= 0.12) & (u < 0.13))[0]:
        s = list(ids[i])
        p = int(rng.integers(0, 16))
        if s[p] == s[p + 1]:
            s[p + 1] = str((int(s[p + 1]) + 1) % 10)
        else:
            s[p], s[p + 1] = s[p + 1], s[p]
        ids[i] = "".join(s)
    ids[u < 0.10] = None
    # -- name
    names = out["name"]
    chars = list(dict.fromkeys(GIVEN_CHARS))
    by_py: dict[str, list[str]] = {}
    for c in chars:
        by_py.setdefault(lazy_pinyin(c)[0], []).append(c)
    u = rng.random(n)
    cc = OpenCC("s2t")
    for i in np.nonzero(u < 0.04)[0]:  # homophone
        nm = names[i]
        if "·" in nm or len(nm) < 2:
            continue
        p = int(rng.integers(1, len(nm)))
        alts = [c for c in by_py.get(lazy_pinyin(nm[p])[0], []) if c != nm[p]]
        if alts:
            names[i] = nm[:p] + alts[int(rng.integers(0, len(alts)))] + nm[p + 1:]
    for i in np.nonzero((u >= 0.04) & (u < 0.055))[0]:  # other character
        nm = names[i]
        p = int(rng.integers(1, len(nm))) if len(nm) > 1 else 0
        names[i] = nm[:p] + chars[int(rng.integers(0, len(chars)))] + nm[p + 1:]
    for i in np.nonzero((u >= 0.055) & (u < 0.06))[0]:  # rare or last character as *
        nm = names[i]
        rare = [j for j, c in enumerate(nm) if c in RARE]
        p = rare[0] if rare else len(nm) - 1
        names[i] = nm[:p] + "*" + nm[p + 1:]
    for i in np.nonzero((u >= 0.06) & (u < 0.063))[0]:  # rare or last character in pinyin
        nm = names[i]
        rare = [j for j, c in enumerate(nm) if c in RARE]
        p = rare[0] if rare else len(nm) - 1
        names[i] = nm[:p] + (RARE.get(nm[p]) or lazy_pinyin(nm[p])[0]) + nm[p + 1:]
    for i in np.nonzero((u >= 0.063) & (u < 0.083))[0]:  # traditional
        names[i] = cc.convert(names[i])
    for i in np.nonzero((u >= 0.083) & (u < 0.093))[0]:  # space / full width
        nm = names[i]
        names[i] = nm.replace("·", "•") if "·" in nm else nm[0] + " " + nm[1:]
    # -- birth date
    u = rng.random(n)
    bd = out["birth_date"]
    for i in np.nonzero((u >= 0.03) & (u < 0.045))[0]:
        s = list(bd[i])
        p = [2, 3, 6, 8, 9][int(rng.integers(0, 5))]
        s[p] = str((int(s[p]) + int(rng.integers(1, 10))) % 10)
        bd[i] = "".join(s)
    for i in np.nonzero((u >= 0.045) & (u < 0.05))[0]:
        y, m, d = bd[i].split("-")
        if int(d) <= 12:
            bd[i] = f"{y}-{d}-{m}"
    bd[u < 0.03] = None
    # -- region, address, sex
    u = rng.random(n)
    moved = u < 0.05
    out["region"][moved] = counties[rng.integers(0, len(counties), moved.sum())]
    u = rng.random(n)
    addr = out["address"]
    for i in np.nonzero((u >= 0.2) & (u < 0.5))[0]:
        a = addr[i]
        k = int(rng.integers(0, 3))
        if k == 0:
            addr[i] = a[a.find("第"):]  # without the county
        elif k == 1:
            addr[i] = a.replace("第", "").replace("号", "")
        else:
            addr[i] = a[:-3] + f"{int(rng.integers(1, 300))}号"
    addr[u < 0.2] = None
    out["sex"][rng.random(n) < 0.01] = None
    return out


def generate(n: int, seed: int = 20261128, match_share: float = 0.8, namesake_share: float = 0.005):
    """``(left, right, truth)`` with ``n`` records on each side (see the module docstring)."""
    rng = np.random.default_rng(seed)
    counties = np.array([f"36{p:02d}{c:02d}" for p in range(1, 12) for c in range(2, 12)])
    county_names = {c: f"{PREFECTURES[int(c[2:4]) - 1]}第{int(c[4:])}区" for c in counties}
    used: set = set()
    left = _people(rng, n, counties, county_names, used)
    n_match = int(n * match_share)
    pick = rng.permutation(n)[:n_match]
    copies = _corrupt(rng, {k: v[pick] for k, v in left.items()}, counties)
    n_other = n - n_match
    others = _people(rng, n_other, counties, county_names, used)
    others = {k: v.astype(object) for k, v in others.items()}
    # namesakes: a left person's name and county (half also the birth date), their own valid ID
    n_ns = int(n * namesake_share)
    ns_src = rng.choice(n, n_ns, replace=False)
    for k in ("name", "region"):
        others[k][:n_ns] = left[k][ns_src]
    same_bd = rng.random(n_ns) < 0.5
    others["birth_date"][:n_ns][same_bd] = left["birth_date"][ns_src][same_bd]
    others["sex"][:n_ns] = left["sex"][ns_src]
    # others also lack IDs sometimes (not the namesakes)
    miss = rng.random(n_other) < 0.10
    miss[:n_ns] = False
    others["id_number"][miss] = None
    right = {k: np.concatenate([copies[k], others[k]]) for k in left}
    order = rng.permutation(n)
    left_ids = np.char.add("P", np.char.zfill(np.arange(n).astype(str), 8))
    right_ids = np.char.add("R", np.char.zfill(np.arange(n).astype(str), 8))
    left_df = pl.DataFrame({"person_id": left_ids, **{k: v for k, v in left.items()}})
    right_df = pl.DataFrame(
        {"rec_id": right_ids, **{k: pl.Series(k, v[order], dtype=pl.String) for k, v in right.items()}}
    )
    # right row j holds source row order[j]; source rows < n_match are copies of left[pick[row]]
    src = order
    is_copy = src < n_match
    truth = pl.DataFrame({"left_id": left_ids[pick[src[is_copy]]], "right_id": right_ids[is_copy]})
    return left_df, right_df, truth
