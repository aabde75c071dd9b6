-- hedui macros: the SQL twins of matching/normalize.py and matching/idnum.py.
--
-- Staging runs these set-based over tens of millions of rows; the Python
-- functions are the reference and tests/test_normalize.py feeds both the same
-- vector list and requires the same answers.  Differences, on purpose:
--   * hd_name_norm does NOT convert traditional to simplified characters and
--     folds width with an explicit table (full-width ASCII, U+3000, ￥) after
--     nfc_normalize instead of NFKC.  Staging re-normalizes in Python only
--     the distinct names containing a character of
--     matching.normalize.name_sql_exceptions(), so stg_<source>.name_norm
--     equals normalize_name() everywhere.
--   * hd_amount returns NULL where parse_amount raises UnparseableAmount;
--     callers tell "empty" from "unparseable" with hd_blank(x).
-- Whitespace is one explicit class everywhere (ASCII whitespace, NBSP, the
-- Unicode space separators, zero-width space, BOM, and the invisible format
-- characters a copy from a web page or a dialog leaves: soft hyphen, LRM/RLM and
-- the other direction marks, zero-width (non-)joiner, word joiner), the same as
-- matching.normalize.WS_CLASS.  Loaded by hedui.db.connect and hedui.staging.

-- Text helpers ---------------------------------------------------------------

-- full-width ASCII, U+3000 and ￥ to ASCII (translate is slow: only on rows that need it)
create or replace temp macro hd_fold(x) as
    case when regexp_matches(x, '[\x{FF01}-\x{FF5E}\x{3000}\x{FFE5}]') then translate(x,
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　￥',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ¥') else x end;

-- the whitespace class at either end removed.  A cell whose first and last characters are both printable
-- ASCII (U+0021–U+0084) or both in U+3001–U+FEFE (CJK, kana, full-width forms) has none there: returned as it
-- is, no regular expression run (unicode() and substr() read code points, not graphemes: a trailing zero-width
-- joiner is a last character of its own).  Any other cell (empty, NULL, an edge in another range) takes the
-- regexp_replace, which returns the cell unchanged when nothing matches.  DuckDB runs a function of one column
-- once per entry of a Parquet dictionary (regexp_replace, unicode, substr, not regexp_matches): the guard costs
-- ≈ a quarter of the regexp_matches guard it replaces (BENCHMARKS.md, session 32; test_contract_stagews BV01).
create or replace temp macro hd_strip_ws(x) as
    case
        when unicode(x) between 33 and 132 and unicode(substr(x, -1)) between 33 and 132
            or unicode(x) between 12289 and 65278 and unicode(substr(x, -1)) between 12289 and 65278 then x
        else regexp_replace(x, '^[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]+|[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]+$', '', 'g')
    end;

create or replace temp macro hd_remove_ws(x) as
    regexp_replace(x, '[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]+', '', 'g');

-- a delivered identifier (不动产单元号, 号牌号码, 统一社会信用代码, a company's name) as one value however it
-- was written: full-width folded, upper-case, without whitespace and the separators people put in
-- (`赣B·00001`, `361002 000000 GB00002 F0001`, `９１３６…ｘ`, `某某（江西）有限公司`)
create or replace temp macro hd_key(x) as
    nullif(upper(regexp_replace(hd_remove_ws(hd_fold(x)), '[\x{00B7}\x{2022}\x{30FB}.\-_/]+', '', 'g')), '');

-- an account, securities account or policy number as one value however it was written (`6222 0202 0011 2233 445`,
-- `6222-0202-…`, full-width, an Excel apostrophe in front, a lower-case letter): one account answered twice in two
-- forms is one account, its balance counted once
create or replace temp macro hd_account(x) as
    nullif(upper(regexp_replace(hd_remove_ws(hd_fold(x)), '^[''\x{2018}\x{2019}`]+|-+', '', 'g')), '');

-- true for NULL and for whitespace-only text
create or replace temp macro hd_blank(x) as
    coalesce(regexp_full_match(x, '[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*'), true);

-- a date, month, amount or number cell that says there is no value (无, -, —, /, N/A, NULL, MySQL's zero date
-- and zero datetime `0000-00-00 00:00:00`, whitespace removed here…): empty, i.e. unknown (never zero), as a blank
-- cell; not an unreadable value to quarantine
create or replace temp macro hd_none(x) as
    upper(hd_remove_ws(x)) in ('无', '暂无', '空', '-', '－', '—', '——', '--', '―', '/', '／', '\', 'N/A', 'NA',
                                'NULL', '0000-00-00', '00000000', '0000-00', '000000', '0000-00-0000:00:00',
                                '00000000000000');

-- masking of personal values in what a person reads (as hedui.masking)
create or replace temp macro hd_mask_id(x) as
    case
        when x is null then null
        when length(trim(x)) <= 10 then repeat('*', length(trim(x)))
        else left(trim(x), 6) || repeat('*', length(trim(x)) - 10) || right(trim(x), 4)
    end;

create or replace temp macro hd_mask_account(x) as
    case
        when x is null then null
        when length(hd_remove_ws(x)) > 4 then '****' || right(hd_remove_ws(x), 4)
        else '****'
    end;

create or replace temp macro hd_mask_name(x) as
    case when x is null then null else left(hd_strip_ws(x), 1) || '*' end;

-- Names ------------------------------------------------------------------------

-- a remark after the name (`李四（曾用名李三）`, `赵五(已故)`, `王六【已销户】`) is no part of it; a middle dot's look-alikes, the
-- full stop 。 and hyphens are the dot (as normalize_name)
create or replace temp macro hd_name_norm(x) as
    nullif(
        case
            when regexp_matches(x, '[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}.\x{00B7}\x{0387}\x{2022}\x{2024}\x{2027}\x{2219}\x{22C5}\x{30FB}\x{FF01}-\x{FF5E}\x{FFE5}\x{3002}\x{FF61}\x{2010}-\x{2013}\x{2212}\-]')
                then regexp_replace(regexp_replace(hd_remove_ws(hd_fold(nfc_normalize(x))), '[(\[【][^()\[\]【】]*[)\]】]$', ''),
                                    '[.\x{00B7}\x{0387}\x{2022}\x{2024}\x{2027}\x{2219}\x{22C5}\x{30FB}\x{FF0E}\x{FF65}\x{3002}\x{FF61}\x{2010}-\x{2013}\x{2212}\x{FF0D}\-]', '·', 'g')
            when regexp_matches(x, '[)\]】]$') then regexp_replace(nfc_normalize(x), '[(\[【][^()\[\]【】]*[)\]】]$', '')
            else nfc_normalize(x)
        end,
        '');

-- ID numbers (GB 11643-1999) ---------------------------------------------------

-- yyyymmdd / yyyymm as 8 / 6 digits (text, first digit 1-9) → DATE, NULL when not a real
-- date: strptime checks the calendar in one call (4x faster than hd_date_n's arithmetic)
create or replace temp macro hd_date_8(s) as cast(try_strptime(s, '%Y%m%d') as date);

create or replace temp macro hd_month_6(s) as cast(try_strptime(s, '%Y%m') as date);

-- ISO 7064 MOD 11-2 check character of a 17-digit body given as a BIGINT
-- (integer arithmetic: ~10x faster than 17 substr calls)
create or replace temp macro hd_id_check_n(n) as
    substr('10X98765432', 1 + ((
         7 * (n // 10000000000000000 % 10)
        +  9 * (n // 1000000000000000 % 10)
        + 10 * (n // 100000000000000 % 10)
        +  5 * (n // 10000000000000 % 10)
        +  8 * (n // 1000000000000 % 10)
        +  4 * (n // 100000000000 % 10)
        +  2 * (n // 10000000000 % 10)
        +  1 * (n // 1000000000 % 10)
        +  6 * (n // 100000000 % 10)
        +  3 * (n // 10000000 % 10)
        +  7 * (n // 1000000 % 10)
        +  9 * (n // 100000 % 10)
        + 10 * (n // 10000 % 10)
        +  5 * (n // 1000 % 10)
        +  8 * (n // 100 % 10)
        +  4 * (n // 10 % 10)
        +  2 * (n // 1 % 10)
    ) % 11)::integer, 1);

create or replace temp macro hd_id_check(s17) as hd_id_check_n(cast(s17 as bigint));

-- y-m-d (integers) is a real calendar date
create or replace temp macro hd_ymd_valid(y, m, d) as
    m between 1 and 12
    and d between 1 and (
        case
            when m in (4, 6, 9, 11) then 30
            when m <> 2 then 31
            when (y % 4 = 0 and y % 100 <> 0) or y % 400 = 0 then 29
            else 28
        end);

-- yyyymmdd (an integer) is a real date with a year in [1800, 2100) (birth dates in IDs)
create or replace temp macro hd_ymd_ok(ymd) as
    ymd // 10000 between 1800 and 2099 and hd_ymd_valid(ymd // 10000, ymd // 100 % 100, ymd % 100);

-- whitespace, width, case, dashes between the digit groups (360702-19800101-0013) and Excel artefacts (leading
-- apostrophe, ="…", the .0 a float column writes after a legacy 15-digit ID) removed; other marks between digit
-- groups (110101/19900101/1234, 110101.1990.0101.1234, 、 _ | …) too when what is left has an ID's shape; a check
-- character × after a digit or * is X; a label or brackets around an ID (身份证:…, ID …, （…）) are no part of it, nor
-- a full stop closing the cell (360102…13。) or a remark naming no one else (hd_id_unremark) (matching.idnum.clean_id)
-- an ID with a remark in brackets after it that holds no digit and names no other person or number (36070219800101002X
-- （户主）, 360702198001010021(本人), …(已故)): the ID; a remark naming another's (代理人, 父, 配偶 …) or another number
-- (旧, 户号, 护照 …) or holding digits stays, the cell then holds an ID among other words (bad_id); on text without
-- whitespace, upper-case (as matching.idnum.OTHER_THAN_ID)
create or replace temp macro hd_id_unremark(v) as
    case when regexp_full_match(v, '([0-9]{17}[0-9X]|[0-9]{15})[(\[【]([^0-9()\[\]【】]*)[)\]】]')
              and not regexp_matches(v, '代|监护|委托|经办|担保|联系|他人|亲属|家属|配偶|夫|妻|父|母|爸|妈|子|女|儿|孙|祖|爷|奶|外|兄|弟|姐|妹|哥|嫂|叔|伯|姑|舅|姨|媳|婿|亲|借|共|联名|旧|曾用|原|错|误|废|无效|注销|假|疑|待|户口|户号|护照|军|警|港|澳|台')
         then regexp_extract(v, '^([0-9]{17}[0-9X]|[0-9]{15})', 1) else v end;

create or replace temp macro hd_id_clean_slow(x) as
    list_transform([upper(regexp_replace(regexp_replace(
        regexp_replace(regexp_replace(hd_remove_ws(hd_fold(x)), '[\-\x{2010}-\x{2015}\x{2212}]+', '', 'g'), '^="(.*)"$', '\1'),
        '^[''‘’`]+', ''), '^([0-9]{15})\.0+$', '\1'))],
        lambda idc: list_transform([list_transform([regexp_replace(
            regexp_replace(idc, '([0-9X\x{d7})\]】])[.。]$', '\1'), '([0-9*])\x{d7}$', '\1X')],
                                                   lambda idv: hd_id_unremark(idv))[1]], lambda idu: case
            when regexp_full_match(idu, '[0-9][0-9X/\\.,_|:;\x{3001}\x{3002}\x{ff0c}\x{b7}]*[0-9X]')
                 and regexp_full_match(regexp_replace(idu, '[/\\.,_|:;\x{3001}\x{3002}\x{ff0c}\x{b7}]+', '', 'g'),
                                       '[0-9]{17}[0-9X]|[0-9]{15}')
            then regexp_replace(idu, '[/\\.,_|:;\x{3001}\x{3002}\x{ff0c}\x{b7}]+', '', 'g')
            -- a label or brackets around the ID (身份证:…, ID …, （…）; as matching.idnum._WRAPPED)
            when regexp_full_match(idu, '(?:(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[:#=]?)?([(\[【<《{]?)([0-9]{17}[0-9X]|[0-9]{15})([)\]】>》}]?)(?:[(\[【]?(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[)\]】]?)?')
                 and regexp_extract(idu, '^(?:(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[:#=]?)?([(\[【<《{]?)([0-9]{17}[0-9X]|[0-9]{15})([)\]】>》}]?)(?:[(\[【]?(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[)\]】]?)?$', 1) || regexp_extract(idu, '^(?:(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[:#=]?)?([(\[【<《{]?)([0-9]{17}[0-9X]|[0-9]{15})([)\]】>》}]?)(?:[(\[【]?(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[)\]】]?)?$', 3) in ('', '()', '[]', '【】', '<>', '《》', '{}')
            then regexp_extract(idu, '^(?:(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[:#=]?)?([(\[【<《{]?)([0-9]{17}[0-9X]|[0-9]{15})([)\]】>》}]?)(?:[(\[【]?(?:公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码|证件号码|证件号|号码|IDNO\.?|ID|NO\.?|SFZH?)[)\]】]?)?$', 2)
            else idu end)[1])[1];

create or replace temp macro hd_id_clean(x) as
    case when regexp_full_match(x, '[0-9]{17}[0-9X]') then x else hd_id_clean_slow(x) end;

-- a cleaned ID that is no ID's shape yet holds one among other text (代理人360102…, 360102…/360103…): an 18-character
-- ID standing apart from other digits (a 19-digit run is a digit doubled, hd_id_kind's malformed)
create or replace temp macro hd_id_embedded(c) as
    not regexp_full_match(c, '[0-9]{17}[0-9X]|[0-9]{15}')
    and regexp_matches(c, '(^|[^0-9])[0-9]{17}[0-9X]($|[^0-9X])');

-- the shape of a cleaned ID: 18 (17 digits + digit/X), 15 (legacy), 0 (empty),
-- 1 (Excel scientific notation), -1 (anything else)
create or replace temp macro hd_id_kind(c) as
    case
        when c is null or c = '' then 0
        when regexp_full_match(c, '[0-9]{17}[0-9X]') then 18
        when regexp_full_match(c, '[0-9]{15}') then 15
        when regexp_full_match(c, '[0-9]+(\.[0-9]+)?E[+-]?[0-9]+') then 1
        else -1
    end;

-- the 17-character body (a legacy 15-digit ID gets '19' before its 2-digit year)
create or replace temp macro hd_id_body(c, kind) as
    case kind when 18 then substr(c, 1, 17) when 15 then substr(c, 1, 6) || '19' || substr(c, 7, 9) end;

-- the body's birth date (characters 7-14) is a real date with a year in [1800, 2100)
-- (bodies are digits: kinds 15 and 18 only)
create or replace temp macro hd_id_birth_ok(body) as
    substr(body, 7, 4) between '1800' and '2099' and hd_date_8(substr(body, 7, 8)) is not null;

-- id_status from the ID's kind, whether its birth date is real and whether its check
-- character is right.  Staging computes the three once per row as columns (a macro's
-- argument is re-evaluated wherever it appears, and inside CASE branches DuckDB does
-- not share common subexpressions).
create or replace temp macro hd_id_status_v(kind, birth_ok, check_ok) as
    case kind
        when 0 then 'missing'
        when 1 then 'scientific'
        when -1 then 'malformed'
        else
            case
                when not birth_ok then 'malformed'
                when kind = 15 then 'converted_15'
                when not check_ok then 'bad_check'
                else 'valid'
            end
    end;

-- the 18-character ID for valid, converted_15 and bad_check, else NULL, from the cleaned ID,
-- its kind, body, birth-date check and the body's check character
create or replace temp macro hd_id_norm_v(c, kind, body, birth_ok, check_char) as
    case when kind in (15, 18) and birth_ok then case kind when 18 then c else body || check_char end end;

-- id_status from the cleaned ID, its kind and body
create or replace temp macro hd_id_status_k(c, kind, body) as
    hd_id_status_v(kind, hd_id_birth_ok(body), hd_id_check(body) = substr(c, 18, 1));

-- the 18-character ID for valid, converted_15 and bad_check, else NULL
-- (only valid and converted_15 are linkable: see hd_id_status)
create or replace temp macro hd_id_norm_k(c, kind, body) as
    hd_id_norm_v(c, kind, body, hd_id_birth_ok(body), hd_id_check(body));

create or replace temp macro hd_id_status_clean(c) as hd_id_status_k(c, hd_id_kind(c), hd_id_body(c, hd_id_kind(c)));

create or replace temp macro hd_id_norm_clean(c) as hd_id_norm_k(c, hd_id_kind(c), hd_id_body(c, hd_id_kind(c)));

-- The cleaned ID goes through a one-element lambda so that it is a plain reference inside
-- the status/norm tree: written as hd_id_norm_clean(hd_id_clean(x)) the cleaning is
-- expanded wherever the tree names its argument, and creating these two macros cost
-- DuckDB 0.16 s on every connection (8 connections per urgent verification).
create or replace temp macro hd_id_status(x) as list_transform([hd_id_clean(x)], lambda c: hd_id_status_clean(c))[1];

create or replace temp macro hd_id_norm(x) as list_transform([hd_id_clean(x)], lambda c: hd_id_norm_clean(c))[1];

-- Dates and months ---------------------------------------------------------------

create or replace temp macro hd_ymd(y, m, d) as
    try_cast(y || '-' || lpad(m, 2, '0') || '-' || lpad(d, 2, '0') as date);

-- integer yyyymmdd → DATE, NULL when not a real date
create or replace temp macro hd_date_n(n) as
    case when hd_ymd_valid(n // 10000, n // 100 % 100, n % 100) then make_date(n // 10000, n // 100 % 100, n % 100) end;

-- a zone's offset from UTC in minutes: Z 0, +08 / +0800 / +08:00 480, -0500 -300
create or replace temp macro hd_zone_minutes(z) as
    case when z = 'Z' then 0 else
        (case when starts_with(z, '-') then -1 else 1 end)
        * (try_cast(substr(replace(z, ':', ''), 2, 2) as integer) * 60
           + coalesce(try_cast(substr(replace(z, ':', ''), 4, 2) as integer), 0))
    end;

-- the days between a date written with a time and a zone (2026-10-31T16:00:00Z: an instant as Java writes it) and
-- the day that time falls on in Beijing time (2026-11-01); 0 without a zone.  As matching.normalize.parse_date.
create or replace temp macro hd_zone_days(s) as
    case when regexp_matches(s, '[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') then
        cast(floor((try_cast(regexp_extract(s, '[ T]([0-9]{1,2}):', 1) as integer) * 60
                    + try_cast(regexp_extract(s, '[ T][0-9]{1,2}:([0-9]{2})', 1) as integer)
                    - hd_zone_minutes(regexp_extract(s, '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$', 1)) + 480) / 1440) as integer)
    else 0 end;

-- an English month name (upper-case) as its number (text), else NULL (as matching.normalize.MONTH_NAMES)
create or replace temp macro hd_month_word(w) as
    case when w in ('JAN', 'JANUARY') then '1' when w in ('FEB', 'FEBRUARY') then '2' when w in ('MAR', 'MARCH') then '3'
         when w in ('APR', 'APRIL') then '4' when w = 'MAY' then '5' when w in ('JUN', 'JUNE') then '6'
         when w in ('JUL', 'JULY') then '7' when w in ('AUG', 'AUGUST') then '8'
         when w in ('SEP', 'SEPT', 'SEPTEMBER') then '9' when w in ('OCT', 'OCTOBER') then '10'
         when w in ('NOV', 'NOVEMBER') then '11' when w in ('DEC', 'DECEMBER') then '12' end;

-- a date with an English month name, on upper-case text without whitespace: NOV28,2026, 28-NOV-2026, 2026-NOV-28
-- (a 2-digit year is no year for certain); as matching.normalize._english_date
create or replace temp macro hd_date_en(e) as
    case
        when regexp_full_match(e, '[A-Z]{3,9}\.?[0-9]{1,2}(ST|ND|RD|TH)?,?[1-9][0-9]{3}') then
            hd_ymd(right(e, 4), hd_month_word(regexp_extract(e, '^([A-Z]+)', 1)), regexp_extract(e, '^[A-Z]+\.?([0-9]{1,2})(ST|ND|RD|TH)?,?[0-9]{4}$', 1))
        when regexp_full_match(e, '[0-9]{1,2}[-/.]?[A-Z]{3,9}\.?[-/.,]?[1-9][0-9]{3}') then
            hd_ymd(right(e, 4), hd_month_word(regexp_extract(e, '^[0-9]+[-/.]?([A-Z]+)', 1)), regexp_extract(e, '^([0-9]+)', 1))
        when regexp_full_match(e, '[1-9][0-9]{3}[-/.]?[A-Z]{3,9}\.?[-/.]?[0-9]{1,2}') then
            hd_ymd(left(e, 4), hd_month_word(regexp_extract(e, '^[0-9]{4}[-/.]?([A-Z]+)', 1)), regexp_extract(e, '([0-9]+)$', 1))
    end;

-- a/b/yyyy (a day and a month before a 4-digit year: 11/28/2026, 28/11/2026): the date where only one reading is a
-- date or both are the same day, else NULL (03/04/2026 is March 4 or April 3; as matching.normalize._day_and_month)
create or replace temp macro hd_day_and_month(a, b, y) as
    list_transform([[hd_ymd(y, b, a), hd_ymd(y, a, b)]], lambda r:
        case when r[2] is null or r[1] = r[2] then r[1] when r[1] is null then r[2] end)[1];

-- a/b/yyyy where both readings are dates of different days (03/04/2026): the reason it is quarantined (hedui.steps
-- .staging_checks.value_reason), else NULL
create or replace temp macro hd_day_month_doubt(s) as
    case when regexp_full_match(s, '(0?[1-9]|1[0-2])[-/.](0?[1-9]|1[0-2])[-/.][1-9][0-9]{3}')
              and cast(regexp_extract(s, '^([0-9]+)', 1) as integer) <> cast(regexp_extract(s, '^[0-9]+[-/.]([0-9]+)', 1) as integer)
         then list_transform([[right(s, 4), cast(cast(regexp_extract(s, '^([0-9]+)', 1) as integer) as varchar),
                               cast(cast(regexp_extract(s, '^[0-9]+[-/.]([0-9]+)', 1) as integer) as varchar)]], lambda p:
            '无法确定是' || p[1] || '年' || p[2] || '月' || p[3] || '日（月/日/年）还是' || p[1] || '年' || p[3] || '月' || p[2]
            || '日（日/月/年），日和月都不大于12，两种写法都可能，该行未计入；请部门按年月日（如2026-11-28）填写后重新交付')[1]
    end;

-- on text already folded and stripped
create or replace temp macro hd_date_clean(s) as
    case
        -- a time as a desktop export writes it (10:00:00 AM, 下午 3:00:00): no zone, the date is its day
        when regexp_full_match(s, '[1-9][0-9]{3}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}[日号]?([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?(Z|[+-][0-9]{2}(:?[0-9]{2})?))?|[ T]((上午|下午|AM|PM|am|pm) ?)?[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?(上午|下午|AM|PM|am|pm))?)?') then
            hd_ymd(
                regexp_extract(s, '^([1-9][0-9]{3})', 1),
                regexp_extract(s, '^[0-9]{4}[-/.年]([0-9]{1,2})', 1),
                regexp_extract(s, '^[0-9]{4}[-/.年][0-9]{1,2}[-/.月]([0-9]{1,2})', 1))
            + hd_zone_days(s)
        -- 20261120.0: a float; 20261120083000: a database's timestamp (yyyyMMddHHmmss), or its time apart (20261120 08:30:00)
        when regexp_full_match(s, '[1-9][0-9]{7}(\.0+|([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]|[ T]((上午|下午|AM|PM|am|pm) ?)?[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?(上午|下午|AM|PM|am|pm))?)?') then hd_date_8(substr(s, 1, 8))
        when regexp_full_match(s, '[1-9][0-9]{4}(\.[0-9]+)?') then
            date '1899-12-30' + cast(substr(s, 1, 5) as integer)
        when regexp_full_match(s, '[0-9]{1,2}[-/.][0-9]{1,2}[-/.][1-9][0-9]{3}') then
            hd_day_and_month(regexp_extract(s, '^([0-9]+)', 1), regexp_extract(s, '^[0-9]+[-/.]([0-9]+)', 1), right(s, 4))
        -- a time after it is no part of it (Nov 28, 2026 10:00; as matching.written_dates.EN_CLOCK)
        when regexp_matches(s, '[A-Za-z]{3}') then hd_date_en(upper(hd_remove_ws(regexp_replace(s,
            '[ T,]+((AM|PM|am|pm) ?)?[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?(AM|PM|am|pm))?$', ''))))
    end;

-- an English weekday (upper-case) as ISO's number (Monday 1), else NULL (as matching.normalize.WEEKDAYS)
create or replace temp macro hd_weekday_word(w) as
    case when w in ('MON', 'MONDAY') then 1 when w in ('TUE', 'TUES', 'TUESDAY') then 2 when w in ('WED', 'WEDNESDAY') then 3
         when w in ('THU', 'THUR', 'THURS', 'THURSDAY') then 4 when w in ('FRI', 'FRIDAY') then 5
         when w in ('SAT', 'SATURDAY') then 6 when w in ('SUN', 'SUNDAY') then 7 end;

-- the weekday (ISO: Monday 1) a date is written with as a long date format writes it (2026年11月28日星期六,
-- 2026-11-28（周六）, Saturday, November 28, 2026), else NULL; and the date's text without it (as
-- matching.normalize._weekday)
create or replace temp macro hd_wd_num(s) as
    case
        when not regexp_matches(s, '[期周拜][一二三四五六日天]\)?$|^[A-Za-z]{3}') then null
        when regexp_full_match(s, '(.+?)[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*\(?(星期|周|礼拜)([一二三四五六日天])\)?') then
            coalesce(nullif(instr('一二三四五六日', regexp_extract(s, '([一二三四五六日天])\)?$', 1)), 0), 7)
        when regexp_full_match(s, '([A-Za-z]{3,9})\.?,?[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*(.+)') then
            hd_weekday_word(upper(regexp_extract(s, '^([A-Za-z]+)', 1)))
    end;

create or replace temp macro hd_wd_rest(s) as
    case
        when regexp_full_match(s, '(.+?)[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*\(?(星期|周|礼拜)([一二三四五六日天])\)?') then
            regexp_extract(s, '^(.+?)[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*\(?(星期|周|礼拜)[一二三四五六日天]\)?$', 1)
        else regexp_extract(s, '^[A-Za-z]+\.?,?[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*(.+)$', 1)
    end;

-- a date with its weekday: the date where the weekday is its own, NULL where it is another's; any other text as
-- hd_date_clean reads it (parse_date)
create or replace temp macro hd_date_wd(s) as
    case
        -- no weekday's word (nearly every date): no lambdas (hd_wd_num's own first test)
        when not regexp_matches(s, '[期周拜][一二三四五六日天]\)?$|^[A-Za-z]{3}') then hd_date_clean(s)
        else list_transform([hd_wd_num(s)], lambda w:
                 list_filter([hd_date_clean(case when w is null then s else hd_wd_rest(s) end)],
                             lambda d: w is null or isodow(d) = w)[1])[1]
    end;

-- a month's or a day's number in Chinese numerals or digits (十一 11, 二十八 28, 三十 30, 九 9)
create or replace temp macro hd_cn_number(t0) as list_transform([replace(replace(t0, '廿', '二十'), '卅', '三十')], lambda t:
    case when regexp_full_match(t, '[0-9]{1,2}') then cast(t as integer)
         when not contains(t, '十') then instr('一二三四五六七八九', t)
         else case when split_part(t, '十', 1) = '' then 1 else instr('一二三四五六七八九', split_part(t, '十', 1)) end * 10
              + case when split_part(t, '十', 2) = '' then 0 else instr('一二三四五六七八九', split_part(t, '十', 2)) end
    end)[1];

-- a date in Chinese numerals at the start of the text in digits (二〇二六年十一月二十八日星期六 → 2026年11月28日星期六,
-- 二零二六年十一月 → 2026年11月; 〇 零 ○ are zero, 廿 20, 卅 30), a time after the date's 日 dropped (2026年11月28日10时30分), any
-- other text as it is (as matching.written_dates.cn_date)
create or replace temp macro hd_cn_date(s0) as list_transform([case when regexp_matches(s0, '[时点]') then
        regexp_replace(s0, '^((?s:.*)[日号])[ T]?(上午|下午|凌晨|早上|晚上|中午)?[0-9]{1,2}[时点]([0-9]{1,2}分([0-9]{1,2}秒)?)?$', '\1')
        else s0 end], lambda s:
    case when regexp_full_match(s, '^([0-9〇零○一二三四五六七八九]{4})年(?:([0-9]{1,2}|[一二三四五六七八九]|[二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?)月(?:([0-9]{1,2}|[一二三四五六七八九]|[二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?)([日号]))?)?((?s:.*))$') then
        list_transform([regexp_extract(s, '^([0-9〇零○一二三四五六七八九]{4})年(?:([0-9]{1,2}|[一二三四五六七八九]|[二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?)月(?:([0-9]{1,2}|[一二三四五六七八九]|[二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?)([日号]))?)?((?s:.*))$', ['y', 'm', 'd', 'k', 'r'])], lambda g:
            translate(g.y, '〇零○一二三四五六七八九', '000123456789') || '年'
            || case when g.m <> '' then hd_cn_number(g.m) || '月'
                    || case when g.d <> '' then hd_cn_number(g.d) || g.k else '' end else '' end
            || g.r)[1]
    else s end)[1];

-- a date written with a weekday that is not its own (2026年11月28日星期五: November 28 is a Saturday): the reason it is
-- quarantined (hedui.steps.staging_checks.value_reason), else NULL
create or replace temp macro hd_weekday_doubt(s0) as
    -- the text, its weekday's number and the rest bound once by lambdas: a macro's argument is copied into each of its
    -- uses, and hd_date_clean's many uses of a copied hd_wd_rest(hd_date_text(…)) made staging's plan 7 × dearer
    list_transform([s0], lambda wd_s: case when regexp_matches(wd_s, '[期周拜][一二三四五六日天]\)?$|^[A-Za-z]{3}') then
        list_transform([hd_wd_num(wd_s)], lambda wd_w: case when wd_w is not null then
            list_transform([hd_wd_rest(wd_s)], lambda wd_r: list_transform([hd_date_clean(wd_r)], lambda wd_d:
                case when wd_d is not null and isodow(wd_d) <> wd_w then
                '中写的星期' || substr('一二三四五六日', wd_w, 1) || '与日期不符：' || strftime(wd_d, '%Y年%-m月%-d日') || '是星期'
                || substr('一二三四五六日', isodow(wd_d), 1) || '，无法确定日期和星期哪一个是对的，该行未计入；'
                || '请部门核对后按年月日（如2026-11-28）填写、不带星期，重新交付' end)[1])[1] end)[1]
    end)[1];

-- a date or a month as a clerk closes or annotates it (as matching.written_dates.tidy_date): the input method's 。 typed
-- for the point between its digits (2026。11。28), a full stop after it (2026.11.28., 2026年11月28日。), and a remark in
-- brackets after it that says nothing of another time nor of the row's worth (2026年11月（补缴）, 2026-11(补)): the
-- remarks of matching.written_dates.REMARK_OK; any other remark stays and the value is no date (hd_remark_doubt)
create or replace temp macro hd_date_tidy(s0) as
    case when not regexp_matches(s0, '[。.)\]】]$|[0-9]。') then s0 else
        list_transform([regexp_replace(
            case when regexp_full_match(s0, '[0-9]{4}(。[0-9]{1,2}){1,2}。?') then replace(s0, '。', '.') else s0 end,
            '([0-9日号月份])[.。]$', '\1')], lambda tdy:
            case when regexp_full_match(tdy, '(.*[0-9日号月份]) *[(\[【]([^()\[\]【】]*)[)\]】]')
                      and regexp_full_match(hd_remove_ws(regexp_extract(tdy, '[(\[【]([^()\[\]【】]*)[)\]】]$', 1)),
                          '(已|实|按时|足额|正常)?(补|代扣代|代)?(缴|缴费|缴纳|交|发|发放|录|录入|报|申报|扣|扣缴|记|登记|到账|入账)?|当月|本月|首次|首月')
                 then regexp_replace(regexp_extract(tdy, '^(.*[0-9日号月份]) *[(\[【][^()\[\]【】]*[)\]】]$', 1), '([0-9日号月份])[.。]$', '\1')
                 else tdy end)[1]
    end;

-- a remark in brackets after a date or a month that hd_date_tidy leaves (it names a time, or what it says of the row
-- is not known: 作废, 未缴 …), on hd_date_text's text: the end of its quarantine reason, else NULL
create or replace temp macro hd_remark_doubt(s) as
    case when regexp_full_match(s, '(.*[0-9日号月份]) *[(\[【]([^()\[\]【】]*)[)\]】]') then
        list_transform([regexp_extract(s, '[(\[【]([^()\[\]【】]*)[)\]】]$', 1)], lambda rmk:
            '带有括号中的备注“' || rmk || '”，'
            || case when regexp_matches(rmk, '[0-9〇零○一二三四五六七八九十廿卅年月日号季期周旬时点上下前次A-Za-z]')
                    then '备注写有另一个时间，无法确定该行属于哪个时间'
                    else '无法确定备注是否改变该行的含义（如作废、冲正、未缴）' end
            || '，该行未计入；请部门在该列只填写年月日或年月（如2026-11-28、2026-11），备注另列后重新交付')[1]
    end;

-- a month written as period 1-4 of a year (2026年3期): the 3rd quarter where a department files quarterly, March
-- where monthly; the end of its quarantine reason, else NULL (hd_month_clean reads periods 5-12)
create or replace temp macro hd_issue_doubt(s) as
    case when regexp_full_match(s, '[1-9][0-9]{3}年第?0?[1-4]期') then
        list_transform([cast(regexp_extract(s, '年第?0?([1-4])期', 1) as varchar)], lambda n:
            '是第' || n || '期：按季申报时是第' || n || '季度，按月申报时是' || n || '月，无法确定是哪个月份，该行未计入；'
            || '请部门按年月（如2026-0' || n || '）填写后重新交付')[1]
    end;

-- folded and stripped, without the whitespace around a date's or a month's separators (2026 - 11 - 28, 2026年 11月 28日;
-- the space between a date and its time stays), as matching.normalize._clean_date
create or replace temp macro hd_date_text(x) as
    list_transform([hd_strip_ws(hd_fold(x))], lambda dt0:
        list_transform([case when regexp_matches(dt0, '[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]')
             then regexp_replace(dt0, '[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*([-/.年月至到~])[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]*|[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]+([日号])', '\1\2', 'g')
             else dt0 end], lambda dt1:
            -- a date in Chinese numerals (二〇二六年十一月二十八日) or with a time after its 日: hd_cn_date reads it; the text
            -- is bound once by the lambdas (a macro's argument is copied into each of its uses: planning cost)
            list_transform([case when contains(dt1, '年') and regexp_matches(dt1, '[〇零○一二三四五六七八九十廿卅时点]')
                                 then hd_cn_date(dt1) else dt1 end], lambda dt2: hd_date_tidy(dt2))[1])[1])[1];

-- hd_date's two fast paths alone: whether a cell is on them, and its date there (NULL for any other cell).
-- staging_checks.month_lookups parses a date column's distinct cells with these when every one is on them
-- (requests' 2026-11-16, securities' 20261127), so hd_date, whose slow path costs ≈ 0.1 CPU-s to bind, is
-- not bound for its lookup; hd_date below takes the same paths (test_contract_stagephase CG06: every cell of
-- both shapes gives hd_date's value)
create or replace temp macro hd_date_is_fast(x) as
    regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}') or regexp_full_match(x, '[1-9][0-9]{7}');

create or replace temp macro hd_date_fast(x) as
    case
        when regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}') then try_cast(x as date)
        when regexp_full_match(x, '[1-9][0-9]{7}') then hd_date_8(x)
    end;

create or replace temp macro hd_date(x) as
    case
        when x is null then null  -- an empty cell: no lambda of the slow path evaluated for it
        when regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}') then try_cast(x as date)
        when regexp_full_match(x, '[1-9][0-9]{7}') then hd_date_8(x)
        else list_transform([hd_date_text(x)], lambda s: hd_date_wd(s))[1]  -- the text once, not in each use
    end;

-- one end of a period as its month: a date, or a month (compact or separated)
create or replace temp macro hd_period_end(e) as
    coalesce(cast(date_trunc('month', hd_date_wd(e)) as date),
             case when regexp_full_match(e, '[1-9][0-9]{5}(\.0+)?') then hd_month_6(substr(e, 1, 6))
                  when regexp_full_match(e, '[1-9][0-9]{3}[-/.年][0-9]{1,2}(月份?)?') then
                      hd_ymd(substr(e, 1, 4), regexp_extract(e, '^[0-9]{4}[-/.年]([0-9]{1,2})', 1), '1') end);

-- a quarter digit (1-4, 一-四) or a half (1, 2, 上, 下) as a number
create or replace temp macro hd_cn_digit(d) as
    case d when '一' then 1 when '上' then 1 when '二' then 2 when '下' then 2 when '三' then 3 when '四' then 4
           else try_cast(d as integer) end;

-- a quarter, a half-year, a year or months of one year written as one value (2026年第一季度, 2026Q1, 2026年上半年, 2026H1,
-- 2026年度, a bare 2026, 2026年1-3月, 2026.01-03; never 2026-01-03, a day), on text without whitespace: its first and last
-- months, else NULL (as matching.normalize._whole_period)
create or replace temp macro hd_period_whole(c) as
    case
        when regexp_full_match(c, '[1-9][0-9]{3}[-/.年]?(第?[1-4一二三四]季度?|[Qq][1-4])') then
            list_transform([hd_cn_digit(regexp_extract(c, '([1-4一二三四])季|[Qq]([1-4])$', 1)
                                        || regexp_extract(c, '([1-4一二三四])季|[Qq]([1-4])$', 2))], lambda q:
                [make_date(cast(left(c, 4) as integer), 3 * q - 2, 1), make_date(cast(left(c, 4) as integer), 3 * q, 1)])[1]
        when regexp_full_match(c, '[1-9][0-9]{3}[-/.年]?([上下]半年度?|[Hh][12])') then
            list_transform([hd_cn_digit(regexp_extract(c, '([上下12])[半]?[年度]*$', 1))], lambda h:
                [make_date(cast(left(c, 4) as integer), 6 * h - 5, 1), make_date(cast(left(c, 4) as integer), 6 * h, 1)])[1]
        -- Q1 2026, Q1-2026, H1 2026 (the quarter or the half first)
        when regexp_full_match(c, '[QqHh][1-4][-/.]?[1-9][0-9]{3}年?') and regexp_full_match(c, '[Qq][1-4].*|[Hh][12].*') then
            list_transform([[cast(substr(c, 2, 1) as integer), cast(regexp_extract(c, '([0-9]{4})年?$', 1) as integer),
                             case when c ilike 'q%' then 3 else 6 end]], lambda p:
                [make_date(p[2], p[3] * p[1] - p[3] + 1, 1), make_date(p[2], p[3] * p[1], 1)])[1]
        when regexp_full_match(c, '(19|20)[0-9]{2}(年|年度|年全年|全年)?') then
            [make_date(cast(left(c, 4) as integer), 1, 1), make_date(cast(left(c, 4) as integer), 12, 1)]
        when regexp_full_match(c, '[1-9][0-9]{3}[-/.年][0-9]{1,2}月?[-~至到][0-9]{1,2}(月份?)?')
             and not regexp_full_match(c, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') then
            [hd_ymd(left(c, 4), regexp_extract(c, '^[0-9]{4}[-/.年]([0-9]+)', 1), '1'),
             hd_ymd(left(c, 4), regexp_extract(c, '[-~至到]([0-9]+)(月份?)?$', 1), '1')]
    end;

-- a period's two ends in one cell (2026-03-01至2026-03-31, 202601-202603, 20260301-20260331, 2026-01至2026-03) as their
-- months (NULL for an end not readable), or NULL when the text is no period (as matching.normalize.period_ends)
create or replace temp macro hd_period_ends(s) as
    coalesce(
        hd_period_whole(hd_remove_ws(s)),
        -- each end's text, then one hd_period_end over both (a macro is expanded wherever it is named)
        list_transform(
            case
                when regexp_full_match(s, '([^至到~]+)[至到~]([^至到~]+)') then
                    [regexp_extract(s, '^([^至到~]+)', 1), regexp_extract(s, '([^至到~]+)$', 1)]
                when regexp_full_match(s, '([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)-([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)') then
                    [regexp_extract(s, '^([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)-([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)$', 1), regexp_extract(s, '^([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)-([1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)$', 2)]
            end,
            lambda e: hd_period_end(e)));

create or replace temp macro hd_month_clean(s) as
    -- e: the period's two ends where the text may be one (hd_period_ends, computed once)
    list_transform([case when regexp_matches(s, '[至到~季半QqHh]|[0-9月日号]-[1-9][0-9]{3}|^(19|20)[0-9]{2}(年|年度|年全年|全年)?$|^[1-9][0-9]{3}[/.年][0-9]{1,2}月?-')
                         then hd_period_ends(s) end], lambda e: case
        when regexp_full_match(s, '[1-9][0-9]{5}(\.0+|月份?)?') then hd_month_6(substr(s, 1, 6))  -- 202611.0, 202611月 as well
        when regexp_full_match(s, '[1-9][0-9]{3}[-/.年][0-9]{1,2}(月份?)?') then  -- 2026年1月份 too
            hd_ymd(substr(s, 1, 4), regexp_extract(s, '^[0-9]{4}[-/.年]([0-9]{1,2})', 1), '1')
        -- 2026年11期 (第11期): a numbered period over 4 is a month (a quarterly or half-yearly cycle has no period 5); 1-4
        -- may be a quarter (hd_issue_doubt); 26年11月: a 2-digit year 00-49 is 20xx in a month column (a pay or
        -- contribution month of 1900-1949 is none); as matching.written_dates.written_month
        when regexp_full_match(s, '[1-9][0-9]{3}年第?[0-9]{1,2}期') then
            list_transform([cast(regexp_extract(s, '年第?([0-9]+)期', 1) as integer)], lambda iss:
                case when iss between 5 and 12 then make_date(cast(left(s, 4) as integer), iss, 1) end)[1]
        when regexp_full_match(s, '[0-4][0-9]年[0-9]{1,2}月份?') then
            hd_ymd('20' || left(s, 2), regexp_extract(s, '年([0-9]+)月', 1), '1')
        -- 20261: a year and an unpadded month (YEAR()&MONTH()), or 2026-1x cut short; as an Excel serial 1955-06: none of
        -- them for certain (as matching.normalize._MONTH_UNPADDED)
        when regexp_full_match(s, '(19|20)[0-9]{2}[1-9](\.[0-9]+)?') then null
        -- a period (所属期 2026-03-01至2026-03-31, as 税款所属期起/止 joined; 202603-202603, 20260301-20260331): its month
        -- where both ends fall in it, else none (a year's business income is no one month's); as
        -- matching.normalize.period_ends
        -- a quarter, a half-year, a year, months of a year (2026Q1, 2026年上半年, 2026年度, 2026年1-3月): none
        when e is not null then case when e[1] = e[2] then e[1] end
        -- 03/2026: a month and its year; Mar 2026, 2026-MAR: an English month name (as matching.normalize.parse_month)
        when regexp_full_match(s, '[0-9]{1,2}[-/.][1-9][0-9]{3}') then hd_ymd(right(s, 4), regexp_extract(s, '^([0-9]+)', 1), '1')
        when regexp_matches(s, '[A-Za-z]{3}') and regexp_full_match(upper(hd_remove_ws(s)), '[A-Z]{3,9}\.?[-/.,]?[1-9][0-9]{3}') then
            hd_ymd(right(hd_remove_ws(s), 4), hd_month_word(regexp_extract(upper(hd_remove_ws(s)), '^([A-Z]+)', 1)), '1')
        when regexp_matches(s, '[A-Za-z]{3}') and regexp_full_match(upper(hd_remove_ws(s)), '[1-9][0-9]{3}[-/.]?[A-Z]{3,9}\.?') then
            hd_ymd(left(hd_remove_ws(s), 4), hd_month_word(regexp_extract(upper(hd_remove_ws(s)), '([A-Z]+)\.?$', 1)), '1')
        else cast(date_trunc('month', hd_date_wd(s)) as date)
    end)[1];

-- a month cell that is a period over several months (202601-202603, 2026-01-01至2026-03-31): no month, and the
-- quarantine says so (hedui.steps.ingest)
create or replace temp macro hd_month_span(x) as
    coalesce(list_transform([hd_date_text(x)], lambda s: list_transform([hd_period_ends(s)], lambda e: e[1] <> e[2])[1])[1], false);

-- hd_month's two fast paths alone: whether a cell is on them, and its month there (NULL for any other cell).
-- staging_checks.month_lookups parses a column's distinct cells with these when every one is on them (a
-- delivery writes its months one way: 2025-11, 202511), so hd_month, whose slow path costs ≈ 0.25 CPU-s to
-- bind, is not bound; hd_month below takes the same paths (test_contract_stagesplit BZ01: every cell of both
-- shapes gives hd_month's value)
create or replace temp macro hd_month_is_fast(x) as
    regexp_full_match(x, '[1-9][0-9]{5}') or regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}');

create or replace temp macro hd_month_fast(x) as
    case
        when regexp_full_match(x, '[1-9][0-9]{5}') then hd_month_6(x)
        when regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}') then try_cast(x || '-01' as date)
    end;

create or replace temp macro hd_month(x) as
    case
        when x is null then null  -- an empty cell: no lambda of the slow path evaluated for it
        when regexp_full_match(x, '[1-9][0-9]{5}') then hd_month_6(x)
        when regexp_full_match(x, '[1-9][0-9]{3}-[0-9]{2}') then try_cast(x || '-01' as date)
        else list_transform([hd_date_text(x)], lambda s: hd_month_clean(s))[1]
    end;

-- Amounts ------------------------------------------------------------------------
-- A cell's own unit (a trailing 万元 / 万人民币 / 万 / 元 / 人民币, or 万元人民币 / 元人民币) wins over the column's
-- scale (its header's unit, or the source's default from the header map); a leading ¥ or
-- 人民币 is a currency mark, not a unit.  As matching.normalize.parse_amount.

-- an amount's text as a cheque or a receipt writes it after its number: a closing 整 after the unit (25000元整), the
-- currency or the unit in brackets (1,234.00元（人民币）, 25000(人民币), 12(万元)): the number and its unit (a bracketed
-- currency after a bare number is the unit 元, as a trailing 人民币 is); as matching.normalize.amount_text
-- (the first two patterns of its AMOUNT_TAILS: 。 typed by an input method for the point or closing the cell)
create or replace temp macro hd_amount_tail(t) as
    case when regexp_matches(t, '[整)]$|。') then
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            -- the input method's 。 for the point (1234。50) or closing the cell (25000元。, 25000元整。): BC06
            regexp_replace(regexp_replace(t, '^(.*[0-9.)元万币整BY])。$', '\1'), '^([^。]*[0-9])。([0-9][^。]*)$', '\1.\2'),
            '^(.*[0-9.](万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY))整$', '\1'),
            '^(.*[0-9.](万元|万|元))\((人民币|RMB|CNY)\)$', '\1'),
            '^(.*[0-9.])\((人民币|RMB|CNY|人民币元|元人民币)\)$', '\1元'),
            '^(.*[0-9.])\((万元人民币|万人民币|万元|万|元)\)$', '\1\2')
    else t end;

-- whitespace removed, the traditional 萬 and 幣 read as 万 and 币, then one leading ¥ or 人民币 (commas stay:
-- hd_thousands takes them out of the number)
create or replace temp macro hd_amount_text(x) as
    regexp_replace(regexp_replace(regexp_replace(
        hd_amount_tail(upper(replace(replace(hd_remove_ws(hd_fold(x)), '萬', '万'), '幣', '币'))),
        '^([+-]?\(?)(¥|人民币|RMB|CNY)', '\1'),
        '^\(([0-9.,]+(万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY)?)\)(万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY)?$', '-\1\3'),
        '^([0-9][0-9.,]*)-(万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY)?$', '-\1\2');


-- a number's thousands separators removed where they are that (groups of three digits: 1,234.50); any other
-- comma (12,34, a decimal comma 1.000,50) stays, so the number is not one (never 1234 or 1.0005)
create or replace temp macro hd_thousands(n) as
    case when regexp_full_match(n, '[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?') then replace(n, ',', '') else n end;

-- the scale a cell's trailing unit u (or '' for none) gives, else the column's scale
create or replace temp macro hd_amount_unit_scale(u, scale) as
    case when u = '' then scale when starts_with(u, '万') then 10000 else 1 end;

-- the double nearest to the decimal n × scale (a power of ten: 1, 10000), got by shifting
-- the decimal exponent, so '1.1' × 10000 is exactly 11000 (no rounding); NULL when n is
-- not a number
create or replace temp macro hd_amount_number(n, scale) as
    case
        when length(n) <= 40 and regexp_full_match(n, '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?') then
            cast(
                regexp_extract(n, '^([^eE]*)', 1) || 'e'
                || (coalesce(try_cast(regexp_extract(n, '[eE]([+-]?[0-9]+)$', 1) as integer), 0)
                    + cast(round(log10(scale)) as integer))
                as double)
    end;

-- on text from hd_amount_text: the number before the unit, scaled by the unit
create or replace temp macro hd_amount_clean(t, scale) as
    hd_amount_number(
        hd_thousands(regexp_extract(t, '^(.*?)(万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY)?$', 1)),
        hd_amount_unit_scale(regexp_extract(t, '^(.*?)(万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY)?$', 2), scale));

-- a number that is not money (a floor area): thousands separators and an area unit (㎡, m², 平方米…)
-- allowed, no 万 or other scaling unit (93万 is no area)
create or replace temp macro hd_number(x) as
    case
        when regexp_full_match(x, '-?[0-9]+(\.[0-9]+)?') then cast(x as double)
        else hd_amount_number(hd_thousands(regexp_replace(hd_remove_ws(hd_fold(x)),
                                                          '(㎡|[mM]²|[mM]2|平方米|平米|平方)$', '')), 1)
    end;

-- fast paths: plain decimals, then the common "12,345.60" and "1234.5元" forms (at most 40
-- characters once the commas and 元 are gone, as hd_amount_number requires); + 0.0 makes "-0" a plain 0
-- (a report showed a balance "-0.00")
create or replace temp macro hd_amount(x, scale) as
    case
        when x is null then null  -- an empty cell: no lambda of the slow path evaluated for it
        when regexp_full_match(x, '-?[0-9]+(\.[0-9]+)?') then
            case when scale = 1 then cast(x as double)
                 else cast(x || 'e' || cast(round(log10(scale)) as integer) as double) end
        when regexp_full_match(x, '-?([0-9]{1,31}|[0-9]{1,3}(,[0-9]{3}){1,10})(\.[0-9]{1,8})?元') then
            cast(replace(replace(x, ',', ''), '元', '') as double)
        when regexp_full_match(x, '-?[0-9]{1,3}(,[0-9]{3}){1,10}(\.[0-9]{1,8})?') then
            case when scale = 1 then cast(replace(x, ',', '') as double)
                 else cast(replace(x, ',', '') || 'e' || cast(round(log10(scale)) as integer) as double) end
        else hd_amount_clean(hd_amount_text(x), scale)
    end + 0.0;

-- an amount (a double of hd_amount) as an exact decimal of 6 places, for sums that must not depend on
-- the order DuckDB's threads add rows in; an absurd amount is held at ±1e26 (far past every limit,
-- so the outcome stays what the amount gives) so that no sum of them overflows; NULL stays NULL
-- (least/greatest skip NULLs: an unknown amount must not become -1e26)
-- a per-capita yuan figure for a finding's text: cents, or four decimals where the figure is over `lim`
-- by less than the cents show (19,200.0033 over 19,200 is not shown as 19,200.00)
create or replace temp macro hd_yuan_over(x, lim) as
    case when round(x, 2) > lim then format('{:,.2f}', x) else format('{:,.4f}', x) end;

create or replace temp macro hd_exact(x) as
    case when x is not null then cast(least(greatest(x, -1e26), 1e26) as decimal(38, 6)) end;

-- a registration's relation to the head (户籍 与户主关系: GB/T 4761 家庭关系 words or two-digit codes, or the
-- request's own categories; full-width and spaces anywhere as delivered) in the categories of 与申请人关系
-- (sources.md); NULL for an empty value or a
-- word not known here: unknown, so it contradicts nothing and is listed as VALUE_UNKNOWN where it matters
create or replace temp macro hd_relation_category(x) as
    list_transform([hd_remove_ws(hd_fold(x))], lambda rel:
        case
            when rel in ('户主', '本人', '01', '02') then '本人'
            when rel in ('配偶', '夫', '妻', '丈夫', '妻子') or rel similar to '1[0-9]' then '配偶'
            when rel in ('子女', '子', '女', '儿子', '女儿', '独生子', '独生女', '长子', '次子', '三子', '四子', '五子',
                         '长女', '次女', '三女', '四女', '五女', '养子', '继子', '养女', '继女', '养子或继子',
                         '养女或继女', '养子女', '继子女', '其他儿子', '其他女儿')
                 or rel similar to '(2[0-7]|29|3[0-7]|39)' then '子女'
            when rel in ('父母', '父', '母', '父亲', '母亲', '继父', '继母', '养父', '养母', '继父或养父', '继母或养母',
                         '其他父母关系')
                 or rel similar to '(5[0-2]|5[7-9])' then '父母'
            when rel in ('祖父母', '祖父', '祖母', '外祖父', '外祖母', '祖父母或外祖父母', '爷爷', '奶奶', '外公',
                         '外婆', '其他祖父母或外祖父母关系')
                 or rel similar to '(6[0-4]|69)' then '祖父母'
            when rel in ('孙子女', '孙子', '孙女', '外孙子', '外孙女', '外孙', '外孙子女', '孙子、孙女或外孙子、外孙女',
                         '其他孙子、孙女或外孙子、外孙女')
                 or rel similar to '(4[0-4]|49)' then '孙子女'
            when rel in ('兄弟姐妹', '兄', '弟', '姐', '妹', '哥哥', '弟弟', '姐姐', '妹妹', '其他兄弟姐妹')
                 or rel similar to '(70|71|73|75|77|79)' then '兄弟姐妹'
            when rel in ('其他', '女婿', '儿媳', '儿媳妇', '孙媳', '公公', '婆婆', '岳父', '岳母', '嫂', '弟媳', '姐夫', '妹夫',
                         '孙媳妇', '孙女婿', '曾孙子', '曾孙女', '曾祖父', '曾祖母', '伯父', '伯母', '叔父', '婶母',
                         '舅父', '舅母', '姨父', '姨母', '姑父', '姑母', '侄子', '侄女', '外甥', '外甥女',
                         '堂兄弟', '堂姐妹', '表兄弟', '表姐妹', '其他亲属', '非亲属')
                 or rel similar to '(28|38|4[5-8]|5[3-6]|6[5-8]|72|74|76|78|8[0-9]|9[0-9])' then '其他'
        end)[1];

-- a registered relation the categories of 与申请人关系 have no word for but 其他 (GB/T 4761 words or codes), as
-- the nearest category: an in-law as the blood relation of its side (the head's 岳父 declared his 父母, his 儿媳
-- his 子女, as through the head, finding_candidates.sql's via_head, the head's father is his wife's 父母), a
-- great-grandchild or great-grandparent as 孙子女 or 祖父母; NULL for any other relation
create or replace temp macro hd_relation_nearest(x) as
    list_transform([hd_remove_ws(hd_fold(x))], lambda rel:
        case
            when rel in ('女婿', '儿媳', '儿媳妇', '28', '38') then '子女'
            when rel in ('孙媳', '孙媳妇', '孙女婿', '外孙媳妇', '外孙女婿', '孙媳妇或外孙媳妇', '孙女婿或外孙女婿', '曾孙子',
                         '曾孙女', '曾外孙子', '曾外孙女', '曾孙子或外曾孙子', '曾孙女或外曾孙女', '45', '46', '47', '48')
                then '孙子女'
            when rel in ('公公', '婆婆', '岳父', '岳母', '53', '54', '55', '56') then '父母'
            when rel in ('曾祖父', '曾祖母', '曾外祖父', '曾外祖母', '65', '66', '67', '68') then '祖父母'
            when rel in ('嫂', '嫂子', '弟媳', '姐夫', '妹夫', '72', '74', '76', '78') then '兄弟姐妹'
        end)[1];

-- Words and codes ----------------------------------------------------------------
-- an enum word (状态, 类型, 关系 …) as delivered, given the contract's words (allowed): a word with whitespace
-- in it (a trailing U+3000 trim() keeps, 最低 生活保障) or full-width letters is that word; anything else is
-- kept as delivered (stripped) for validation to reject, showing what was delivered.  NULL when empty.
create or replace temp macro hd_enum(x, allowed) as
    case
        when list_contains(allowed, x) then x
        else coalesce(list_filter([hd_remove_ws(hd_fold(x))], lambda w: list_contains(allowed, w))[1],
                      nullif(hd_strip_ws(x), ''))
    end;

-- a region code (GB/T 2260, 6 digits) as delivered: full-width digits, spaces, or a spreadsheet's float
-- form (360702.0) give the 6 digits, and so does the statistical code that extends it (统计用区划代码: 12 digits,
-- or the 9 of a township), whose first 6 are the county's; anything else is kept as delivered (trimmed) for
-- validation to reject
create or replace temp macro hd_region(x) as
    case
        when regexp_full_match(x, '[0-9]{6}') then x
        else list_transform([hd_remove_ws(hd_fold(x))], lambda c:
            case when regexp_full_match(c, '[0-9]{6}([0-9]{3}|[0-9]{6})?(\.0*)?') then substr(c, 1, 6)
                 else nullif(hd_strip_ws(x), '') end)[1]
    end;

-- Assessment tables ------------------------------------------------------------

-- the kinds of fact compared between two verifications (sql/assess/facts.sql) and the sources each comes from:
-- a kind is not compared where one of its sources was missing or failed (previous_verification.sql) or a record of
-- one named the member and was quarantined (changes.sql), either time
create or replace temp macro hd_kind_sources() as table
    select * from (values
        ('vehicle', 'vehicle'), ('property', 'real_estate'), ('business', 'business_registry'),
        ('employer', 'tax'), ('employer', 'social_insurance'), ('registration', 'public_security'),
        ('death', 'civil_affairs')) as t(kind, source);

-- the income tax a tax row's income is net of (policy.md: "net of income tax paid where known"): what the row says was
-- paid, never more than the income it was paid on (a tax is paid on an income, so more is a value that cannot be what
-- it says: 已缴税额 and 收入额 swapped, a refund, a typo — evidence_gaps.sql's doubtful_amounts lists the row), and
-- nothing where the income is unknown.  The row's net is never below 0: one impossible row deducted its excess from
-- the other members' incomes and hid a finding standing on them (test_contract_assess8 AU04)
create or replace temp macro hd_tax_deducted(tax_paid_yuan, income_yuan) as
    case when tax_paid_yuan is not null then least(tax_paid_yuan, coalesce(income_yuan, 0)) end;

-- what a securities account holds by one answer: 持仓市值 + 资金余额, an empty one adding nothing (listed as unknown,
-- evidence_gaps.sql), both empty unknown.  Two answers of one account and 查询日期 are compared on it (the smaller
-- counts, figures.sql): compared on the bare sum, an answer with one value empty was never the larger, and both
-- were counted — one account's 30,000 and 100 of one day summed (test_contract_assess8 AU03)
create or replace temp macro hd_securities_yuan(market_value_yuan, cash_balance_yuan) as
    case when market_value_yuan is not null or cash_balance_yuan is not null
        then coalesce(market_value_yuan, 0) + coalesce(cash_balance_yuan, 0) end;

-- an answer of a bank, securities registry or insurer queried (查询日期) more than a month before the member signed the
-- authorization (授权日期), or before the request (hd_authorization_bound): no query of this request (先授权后核对), an
-- old balance, not weighed (figures.sql, figure_lineage.sql, evidence_gaps.sql).  The contract sets no threshold:
-- days off are a date written days off
create or replace temp macro hd_predates_authorization(query_date, authorization_date) as
    coalesce(query_date < (authorization_date - interval 1 month)::date, false);

-- the date an answer is weighed against (hd_predates_authorization): the later of the member's 授权日期 and the request
-- date (委托日期).  The center queries for a request once it has it and, authorized, not before (先授权后核对): an
-- answer queried more than a month before the request (the same slack for a date written off) was made for an earlier
-- request, even after the authorization — a balance of two years ago answered under the authorization a household
-- signed when it applied, weighed at its re-check (动态复核) as current (test_contract_assess8 AU01); results serve the
-- request they were made for and nothing else (policy.md).  The request date alone where the 授权日期 is left empty
-- (test_contract_assess7 AS05); the 授权日期 where it follows the request (test_contract_traps6 TL17)
create or replace temp macro hd_authorization_bound(authorization_date, request_date) as
    greatest(authorization_date, request_date);

-- why an answer is not this request's (hd_not_this_query), said to staff: before the authorization (the stronger
-- reason, where the 授权日期 is known), its date unknown and before the request, or after it but before the request
create or replace temp macro hd_stale_basis_zh(query_date, signed_date, request_date) as
    case
        when signed_date is null then '该成员的授权日期为空，查询日期 ' || strftime(query_date, '%Y-%m-%d') || ' 早于委托日期 '
            || strftime(request_date, '%Y-%m-%d')
        when hd_predates_authorization(query_date, signed_date) then '查询日期 ' || strftime(query_date, '%Y-%m-%d')
            || ' 早于该成员的授权日期 ' || strftime(signed_date, '%Y-%m-%d')
        else '查询日期 ' || strftime(query_date, '%Y-%m-%d') || ' 晚于授权日期 ' || strftime(signed_date, '%Y-%m-%d')
            || '，但早于本次委托日期 ' || strftime(request_date, '%Y-%m-%d')
    end;

-- the short form of the same (figure_lineage.sql's exclusion_zh)
create or replace temp macro hd_stale_exclusion_zh(query_date, signed_date, request_date) as
    case
        when signed_date is null then '授权日期为空，查询日期早于委托日期一个月以上，无法确认是授权后本次核对的查询结果，不计入'
        when hd_predates_authorization(query_date, signed_date)
            then '查询日期早于该成员的授权日期一个月以上，不是本次核对的查询结果，不计入'
        else '查询日期早于本次委托日期一个月以上，是此前的查询结果，不是本次核对的查询结果，不计入'
    end;

-- an answer of a bank, securities registry or insurer not shown to answer this request's query (先授权后核对; results
-- serve the request they were made for): queried more than a month before the authorization (above), or of no query
-- date at all (查询日期 empty, or the column left out: empty is unknown, policy.md).  Not counted (figures.sql,
-- figure_lineage.sql); the undated one is listed as lacking its 查询日期 (evidence_gaps.sql's needed_values)
create or replace temp macro hd_not_this_query(query_date, authorization_date) as
    query_date is null or hd_predates_authorization(query_date, authorization_date);
