"""household.html as one plain Python function: the same text as Jinja's render, with less work per page.

Jinja's compiled template pays per page for what a household page does not need: a context and its
lookups, `environment.getattr` on every attribute read (a try around `getattr`), a generator yielding each
piece, loop contexts, filters called through the environment. `render_page` writes the same page from the
same values with f-strings: every `{{ value }}` of the template passes through the same `_escape` (but the
texts that cannot hold a character it replaces: the `yuan` filter's amounts, `%.2f` and `strftime` digits), each
filter is the environment's own (`region`, `cdate`, `yuan`) or Jinja's behaviour written out (`join`,
`format`, `length`, `sum`, `selectattr`).

household.html stays the page's definition: `FINGERPRINT` is the fingerprint of the templates this function
was written from (`digests.template_fingerprint`); when the templates differ, the page workers render with
Jinja (`renderer`), and tests/test_report_fastpage.py, which compares both on pages with every section,
fails until this function is brought up to date.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from markupsafe import Markup

from hedui.steps.report.display import _escape

log = logging.getLogger(__name__)

#: digests.template_fingerprint() of the templates `render_page` reproduces
FINGERPRINT = "a1cf79934aae2292"


def _join(value, d: str = "") -> str:
    """Jinja's `join` filter under autoescape, before the output's escape."""
    value = list(value)
    escaped = False
    for i, item in enumerate(value):
        if hasattr(item, "__html__"):
            escaped = True
        else:
            value[i] = str(item)
    if escaped:
        from markupsafe import escape

        return escape(d).join(value)
    return d.join(value)


def _sep(last: bool) -> str:
    return "" if last else "、"


def renderer(tpl, jinja_render):
    """The page function of the page workers: the template's values, but for `per_member` `records` (each
    member's record tables in UTF-8, in the order of `members`), to the page in UTF-8. `render_page` with
    the environment's filters when the templates are the ones it was written from, else `jinja_render`
    (Jinja's render of household.html)."""
    from hedui.steps.report import digests

    if digests.template_fingerprint() != FINGERPRINT:
        log.warning("household templates changed (%s, fast renderer written for %s): pages rendered by Jinja",
                    digests.template_fingerprint(), FINGERPRINT)

        def jinja(*, members, records, **values) -> bytes:
            per_member = [SimpleNamespace(member=m, records=Markup(r.decode("utf-8")))
                          for m, r in zip(members, records, strict=True)]
            return jinja_render(members=members, per_member=per_member, **values).encode("utf-8")

        return jinja
    env = tpl.environment
    style = env.get_template("_style.html").render()
    region, cdate, yuan = env.filters["region"], env.filters["cdate"], env.filters["yuan"]

    def render(**values) -> bytes:
        return render_page(style, region, cdate, yuan, **values)

    return render


def render_page(style, region, cdate, yuan, *, h, run_date, version, outcome_zh, previous, outcome_names,
                finding_diff, changes, findings, gaps, unweighed, members, records, statuses_html, decisions,
                reviewers, issued_on, windows, finding_zh, kind_zh, source_names, lineage, decision_zh,
                **_unused) -> bytes:
    """household.html's page in UTF-8; each member's record tables (`records`, UTF-8, already escaped HTML
    made in the export) put in as they are, with no text made of them."""
    e = _escape
    o: list = []
    a = o.append
    cuts: list[int] = []  # where in `o` a member's record tables (bytes) stand
    rid = e(h.request_id)
    a(f'<!doctype html>\n<html lang="zh-CN">\n<head><meta charset="utf-8"><title>家庭经济状况核对报告 {rid}</title>\n')
    a(style)
    a('\n</head>\n<body>\n<div class="official">本行政区域社会救助审核专用</div>\n<h1>家庭经济状况核对报告</h1>\n')
    if h.policy_demonstration:
        a(f'<p class="demo">注意：本报告所用政策参数为演示数据（{e(h.policy_id)}），不是正式政策文件的标准，'
          '不得作为正式核对依据。</p>')
    a(f'\n<table>\n  <tr><th>委托编号</th><td>{rid}</td><th>业务类型</th><td>{e(h.program)}</td></tr>\n'
      f'  <tr><th>所在地区</th><td>{e(region(h.region_code))}</td><th>城乡类别</th><td>{e(h.urban_rural)}</td></tr>\n'
      f'  <tr><th>委托日期</th><td>{e(cdate(h.request_date))}</td><th>核对批次</th><td>{e(cdate(run_date))}'
      f'（第 {e(version)} 版报告）</td></tr>\n'
      f'  <tr><th>政策版本</th><td colspan="3">{_policy(e, h)}</td></tr>\n</table>\n\n'
      f'<h2>核对结论</h2>\n<p><span class="outcome {e(h.outcome)}" data-outcome="{e(h.outcome)}" '
      f'data-findings="{e(h.findings or "")}">{e(outcome_zh)}</span></p>\n\n')
    if previous:
        same = "复核：本委托的上一版报告" if previous.is_same_request else "动态复核：该家庭的上次核对"
        a(f'\n<h2>与上次核对相比（{e(same)}）</h2>\n<p>上次核对：批次 {e(cdate(previous.previous_run_date))}，'
          f'委托编号 {e(previous.previous_request_id)}，结论\n“{e(outcome_names.get(previous.previous_outcome, "—"))}”')
        if previous.previous_findings:
            a("（")
            codes = [c for c in previous.previous_findings.split(";") if c]
            for i, c in enumerate(codes, 1):
                a(f"{e(finding_zh.get(c, c))}{_sep(i == len(codes))}")
            a("）")
        a(f"；\n本次结论“{e(outcome_zh)}”。</p>\n")
        was = getattr(previous, "previous_policy_id", None)
        if was and was != h.policy_id:
            a(f"<p>上次核对所用政策版本：{e(was)}：{e(previous.previous_policy_source_zh)}；本次所用政策版本："
              f"{e(h.policy_id or '无')}。两次的保障标准和限额可能不同，结论的变化可能来自政策版本的变化。</p>\n")
        added, removed = finding_diff["added"], finding_diff["removed"]
        if added or removed:
            a("\n<p>")
            if added:
                a("新增情形：")
                for i, c in enumerate(added, 1):
                    a(f"{e(finding_zh.get(c, c))}（{e(c)}）{_sep(i == len(added))}")
                a("。")
            a("\n")
            if removed:
                a("不再出现的情形：")
                for i, c in enumerate(removed, 1):
                    a(f"{e(finding_zh.get(c, c))}（{e(c)}）{_sep(i == len(removed))}")
                a("。")
            a("</p>\n")
        a("\n")
        if changes:
            a("\n<table><thead><tr><th>变化</th><th>类别</th><th>成员</th><th>内容</th></tr></thead>\n")
            for c in changes:
                a(f'<tr><td>{e("新增" if c.change == "added" else "不再存在")}</td>'
                  f"<td>{e(kind_zh.get(c.kind, c.kind))}</td><td>{e(c.member_label)}</td>"
                  f"<td>{e(c.detail_zh)}</td></tr>")
            a("\n</table>\n")
        elif previous.kinds_not_compared_zh or previous.members_not_compared_zh or previous.kinds_held_zh:
            a('<p class="muted">与上次核对相比，已作比较的情况均无变化。</p>\n')
        else:
            a('<p class="muted">与上次核对相比，车辆、房产、企业、工作单位、户籍状态均无变化。</p>')
        a("\n")
        if previous.kinds_not_compared_zh:
            a(f'<p class="muted">未作比较：{e(previous.kinds_not_compared_zh)}（本次或上次相关部门的数据缺失或未通过校验，'
              "无从判断有无变化）。</p>")
        a("\n")
        if previous.members_not_compared_zh:
            a(f'<p class="muted">未作比较的成员：{e(previous.members_not_compared_zh)}（本次或上次未查询：无授权书或无可用身份证号）。'
              "</p>")
        a("\n")
        if previous.kinds_held_zh:
            a(f'<p class="muted">未作比较：{e(previous.kinds_held_zh)}（本次或上次有关于该成员的记录被隔离，内容未能核对，'
              "无从判断有无变化）。</p>")
        a("\n")
    elif h.program == "动态复核":
        a('\n<h2>与上次核对相比（动态复核）</h2>\n<p class="muted">本平台没有该家庭（同一委托或同一申请人）的上次核对记录，'
          "无法列出与上次相比的变化；如上次核对不在本平台，请人工比对。</p>\n")
    a("\n\n")
    if findings:
        _findings(a, e, yuan, findings, source_names, lineage)
    a("\n\n")
    if gaps:
        a("\n<h2>核对信息不完整之处</h2>\n<ul>\n")
        for g in gaps:
            a(f"<li>{e(g.code_zh)}：")
            if g.member_label:
                a(f"{e(g.member_label)}：")
            a(f"{e(g.detail_zh)}</li>")
        a("\n</ul>\n")
    a("\n")
    if unweighed:
        _unweighed(a, e, unweighed, source_names)
    a("\n")
    _figures(a, e, yuan, cdate, h)
    a("\n<h2>家庭成员</h2>\n<table>\n<thead><tr><th>姓名</th><th>身份证号</th><th>与申请人关系</th><th>授权</th>"
      "</tr></thead>\n")
    for m in members:
        a(f"\n<tr><td>{e(m.name)}</td><td>{e(m.id_masked)}</td><td>{e(m.relation)}</td>\n<td>")
        a(f"已授权（{e(m.authorization_no)}）" if m.is_authorized else "<b>无授权书，未查询</b>")
        a("</td></tr>\n")
    a("\n</table>\n\n<h2>各成员查得记录</h2>\n")
    for m, tables in zip(members, records, strict=True):
        a(f"\n<h3>{e(m.name)}（{e(m.id_masked)}，{e(m.relation)}）</h3>\n")
        if not m.is_authorized:
            a('<p class="muted">无授权书，未查询该成员信息。</p>\n')
        elif not tables:
            a('<p class="muted">各部门均未查得该成员的记录。</p>\n')
        else:
            a("\n")
            cuts.append(len(o))
            a(tables)
            a("\n")
        a("\n")
    a(f"\n\n<h2>本批次各部门数据状态</h2>\n<table>\n<thead><tr><th>部门数据</th><th>状态</th><th>说明</th></tr></thead>\n"
      f"{e(statuses_html)}\n</table>\n\n")
    if decisions:
        a('\n<h2>人工复核决定</h2>\n<table class="decisions">\n<thead><tr><th>决定</th><th>所涉记录</th><th>核对人</th>'
          "<th>时间</th><th>理由</th></tr></thead>\n")
        for d in decisions:
            a(f"<tr><td>{e(decision_zh.get(d.decision, d.decision))}</td>\n"
              f"<td>{e(source_names.get(d.source, d.source))}")
            if d.file_name:
                a(f"，{e(d.file_name)} 第 {e(d.row_no)} 行")
            weight = "%.2f" % (d.match_weight,)  # noqa: UP031  (Jinja's `format` filter is printf-style)
            a(f"（概率匹配，权重 {e(weight)}）</td>\n<td>{e(d.reviewer)}</td>"
              f"<td>{e(cdate(d.decided_at))} {e(d.decided_at.strftime('%H:%M') if d.decided_at else '')}</td>"
              f"<td>{e(d.reason)}</td></tr>")
        a("\n</table>\n")
    a(f'\n<table class="signoff">\n<tr><th>核对人</th><td>{e(_join(reviewers, "、") if reviewers else "　")}</td>'
      f"<th>审核人</th><td>　</td><th>出具日期</th><td>{e(issued_on)}</td></tr>\n</table>\n"
      f'<p class="objection-note">如对本报告所列事实有异议，申请人可自出具之日起 {e(windows.objection)} 个工作日内，'
      f"持相关证明材料向委托部门或核对机构提出，核对机构将在受理后 {e(windows.recheck)} 个工作日内复查并出具复查报告。</p>\n"
      f"<footer>本报告由家庭经济状况核对平台生成。核对机构只核对、不认定：报告陈述查得的事实与政策限额的比较，"
      f"是否给予救助由委托部门认定。本报告仅用于委托编号 {rid} 所对应的核对事项。</footer>\n</body>\n</html>")
    if not cuts:
        return "".join(o).encode("utf-8")
    out, start = [], 0
    for i in cuts:
        out += ("".join(o[start:i]).encode("utf-8"), o[i])
        start = i + 1
    out.append("".join(o[start:]).encode("utf-8"))
    return b"".join(out)


def _weight(w) -> str:
    return "" if w is None else f"（匹配权重 {'%.2f' % (w,)}）"  # noqa: UP031  (as Jinja's `format`)


def _findings(a, e, yuan, findings, source_names, lineage) -> None:
    a("\n<h2>发现以下情形</h2>\n<table>\n<thead><tr><th>情形</th><th>说明</th><th>依据</th></tr></thead>\n")
    for f in findings:
        a(f'\n<tr><td>{e(f.code_zh)}<br><span class="muted">{e(f.code)}</span></td><td>')
        if f.member_label:
            a(f"{e(f.member_label)}：")
        a(f'{e(f.detail_zh)}</td>\n<td class="cite">')
        if f.file_name:
            a(f"{e(source_names.get(f.source, f.source))}，交付日期 {e(f.delivery_date)}，文件 {e(f.file_name)} "
              f"第 {e(f.row_no)} 行；{e(f.method_zh)}{_weight(f.match_weight)}")
            if not f.is_confirmed:
                a("，<b>未经人工确认</b>")
        elif lineage.get(f.code):
            groups = lineage[f.code]
            a('\n<table class="lineage"><tr><th>成员</th><th>来源</th><th>项目</th><th>期间</th><th>条数</th>'
              "<th>金额合计（元）</th><th>是否计入</th></tr>\n")
            for g in groups:
                a(f"<tr><td>{e(g.member)}")
                if g.relation:
                    a(f"（{e(g.relation)}）")
                a(f"</td><td>{e(source_names.get(g.source, g.source))}</td><td>{e(g.item)}</td>\n<td>")
                if g.first:
                    a(g.first.strftime("%Y-%m"))
                    if g.last != g.first:
                        a(f" 至 {g.last.strftime('%Y-%m')}")
                else:
                    a("—")
                a(f"</td><td>{e(g.n)}</td><td>{yuan(g.total)}</td><td>{e(g.status)}</td></tr>\n")
            a(f"</table>\n<details><summary>逐条记录（{e(sum(g.n for g in groups))} 条）</summary>\n"
              "<table><tr><th>成员</th><th>项目</th><th>期间</th><th>金额（元）</th><th>是否计入</th><th>记录</th></tr>\n")
            for g in groups:
                for r in g.rows:
                    a(f"<tr><td>{e(g.member)}</td><td>{e(g.item)}</td>"
                      f"<td>{r.period_month.strftime('%Y-%m') if r.period_month else '—'}</td>"
                      f"<td>{yuan(r.amount_yuan)}</td><td>{e(g.status)}</td>"
                      f"<td>{e(source_names.get(g.source, g.source))}，交付日期 {e(r.delivery_date)}，"
                      f"文件 {e(r.file_name)} 第 {e(r.row_no)} 行；{e(r.method_zh)}{_weight(r.match_weight)}")
                    if not r.is_confirmed:
                        a("，<b>未经人工确认</b>")
                    a("</td></tr>\n")
            a("</table></details>\n")
        else:
            a("家庭指标（见下表）")
        a("</td></tr>\n")
    a("\n</table>\n")


def _unweighed(a, e, unweighed, source_names) -> None:
    waiting = [g for g in unweighed if g.code == "UNCONFIRMED_LINK"]
    quarantined = [g for g in unweighed if g.code == "RECORD_QUARANTINED"]
    unknown = [g for g in unweighed if g.code == "VALUE_UNKNOWN"]
    a('\n\n\n\n<h2 id="unweighed">待核实的信息</h2>\n<p class="muted">以下记录可能改变核对结论，但尚未能核对；'
      "在核实之前，本家庭的结论不会是“未发现超出政策规定情形”。</p>\n")
    if waiting:
        a(f"\n<h3>待人工确认的可能匹配记录（{e(len(waiting))} 条）</h3>\n<table>\n<tr><th>来源</th><th>记录</th>"
          "<th>可能属于的成员</th><th>匹配权重</th><th>对结论的影响</th></tr>\n")
        for g in waiting:
            a(f'\n<tr><td>{e(source_names.get(g.source, g.source))}</td><td class="cite">')
            a(f"文件 {e(g.file_name)} 第 {e(g.row_no)} 行" if g.file_name else "—")
            a(f"</td>\n<td>{e(g.member_name or '—')}（{e(g.member_id_masked or '—')}")
            if g.member_relation:
                a(f"，{e(g.member_relation)}")
            a("）</td>\n<td>")
            a("—" if g.match_weight is None else "%.2f" % (g.match_weight,))  # noqa: UP031
            a(f"</td>\n<td>{e(g.related_zh or '')}")
            if g.related_code:
                a(f'<br><span class="muted">{e(g.related_code)}</span>')
            a(f"<br>{e(g.reason_zh)}</td></tr>\n")
        a("\n</table>\n")
    a("\n")
    if quarantined:
        a(f"\n<h3>被隔离的相关记录（{e(len(quarantined))} 条）</h3>\n<table>\n<tr><th>来源</th><th>记录</th>"
          "<th>涉及成员</th><th>记录中的证件号码</th><th>隔离原因</th></tr>\n")
        for g in quarantined:
            a(f'\n<tr><td>{e(source_names.get(g.source, g.source))}</td><td class="cite">文件 {e(g.file_name)} '
              f"第 {e(g.row_no)} 行</td>\n<td>{e(g.member_name or '—')}（{e(g.member_id_masked or '—')}）</td>"
              f"<td>{e(g.record_id_masked or '—')}</td>\n<td>{e(g.reason_zh)}</td></tr>\n")
        a("\n</table>\n")
    a("\n")
    if unknown:
        a(f"\n<h3>缺少核对所需数值的记录（{e(len(unknown))} 条）</h3>\n<table>\n<tr><th>来源</th><th>记录</th>"
          "<th>成员</th><th>缺少的数值</th></tr>\n")
        for g in unknown:
            a(f'\n<tr><td>{e(source_names.get(g.source, g.source))}</td><td class="cite">')
            a(f"文件 {e(g.file_name)} 第 {e(g.row_no)} 行" if g.file_name else "—")
            if g.related_zh:  # a request row's gap: the rows it disagrees with
                a(f"<br>{e(g.related_zh)}")
            a(f"</td>\n<td>{e(g.member_name or '—')}（{e(g.member_id_masked or '—')}）</td>"
              f"<td>{e(g.reason_zh)}</td></tr>\n")
        a("\n</table>\n")
    a("\n")


def _policy(e, h) -> str:
    if h.policy_id is None:
        return "<b>没有适用于本户的政策版本</b>"
    return f"{e(h.policy_id)}：{e(h.policy_source_zh)}"


def _figures(a, e, yuan, cdate, h) -> None:
    if h.policy_id is None:  # no version applies: no limit to compare with (evidence_gaps.sql names the gap)
        a("<h2>家庭指标与政策限额</h2>\n<p><b>没有适用于本户的政策版本：保障标准和各项限额无法确定，"
          "家庭指标未与限额比较（见待核实的信息）。</b></p>\n")
        return
    income_over = "over" if h.income_monthly_per_capita_yuan > h.standard_monthly_yuan else ""
    assets_over = "over" if h.financial_assets_per_capita_yuan > h.financial_assets_limit_yuan else ""
    units_over = "over" if h.n_residential_units > h.max_residential_units else ""
    a("<h2>家庭指标与政策限额</h2>\n<table>\n<thead><tr><th>指标</th><th>家庭数值</th><th>政策限额</th></tr></thead>\n"
      f"<tr><td>家庭人口（申报）</td><td>{e(h.n_members)} 人（已授权 {e(h.n_authorized)} 人）</td><td>—</td></tr>\n"
      f"<tr><td>月人均收入（{e(cdate(h.window_start))}至{e(cdate(h.window_end))}前，{e(h.income_window_months)} 个月平均）</td>\n"
      f'  <td class="{income_over}">{yuan(h.income_monthly_per_capita_yuan)} 元</td>'
      f"<td>保障标准 {yuan(h.standard_monthly_yuan)} 元/人·月</td></tr>\n"
      "<tr><td class=\"muted\">　其中：计税收入 / 已缴税额 / 养老失业待遇 / 按缴费基数估算工资 / 个人缴费</td>\n"
      f'  <td class="muted" colspan="2">{yuan(h.taxed_income_yuan)} / {yuan(h.tax_paid_yuan)} / '
      f"{yuan(h.benefit_yuan)} / {yuan(h.wage_estimate_yuan)}")
    if h.wage_estimate_yuan:
        a("（估算）")
    a(f" / {yuan(h.si_individual_yuan)} 元</td></tr>\n"
      f'<tr><td>人均金融资产</td><td class="{assets_over}">{yuan(h.financial_assets_per_capita_yuan)} 元'
      f"（合计 {yuan(h.financial_assets_yuan)} 元）")
    if h.n_unknown_amounts:
        a(f"<br><b>另有 {e(h.n_unknown_amounts)} 条记录金额未知，未计入（不按 0 计，见待核实的信息）</b>")
    area = "%.2f" % (h.residential_area_per_capita_m2,)  # noqa: UP031  (as Jinja's `format`: a Decimal as a float)
    a(f"</td><td>{yuan(h.financial_assets_limit_yuan)} 元</td></tr>\n"
      f'<tr><td>住宅套数 / 人均住宅面积</td><td class="{units_over}">{e(h.n_residential_units)} 套 / '
      f"{area} 平方米</td><td>{e(h.max_residential_units)} 套</td></tr>\n"
      f"<tr><td>机动车</td><td>见各成员记录</td><td>非豁免车辆购置价格 ≤ {yuan(h.vehicle_price_limit_yuan)} 元；"
      f"豁免：{e(_join(h.exempt_vehicle_types, '、'))}</td></tr>\n"
      f"<tr><td>经营主体</td><td>见各成员记录</td><td>认缴出资 &lt; {yuan(h.business_contribution_limit_yuan)} 元；"
      f"{e(_join(h.business_always_review_types, '、'))}一律列明</td></tr>\n</table>\n")
