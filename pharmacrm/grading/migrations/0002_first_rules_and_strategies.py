"""Version 1 of every dimension's rules (the seeds' values, in force from the start) and the strategy table.

Both are data: marketing changes rules through new versions and the strategy table on its page.
"""

import datetime

from django.db import migrations

#: seed 000 二.3 (premium: more, tailored service; general: keep in touch; potential: promotion),
#: seed 002 一.(二) (core: dedicated team, quarterly value report, ≥ 3 contacts a month; potential: every two
#: months a trend brief; to develop: journals, congress booths, solution handbook), seed 003 四.1 (large
#: monthly, medium quarterly, small half-yearly follow-up visits)
STRATEGIES = [
    ("grade", "premium", 7, 4, "专属服务、个性化方案，加强合作深度（种子000 二.3）", "每周1篇前沿文献，每月1次政策解读"),
    ("grade", "general", 30, 1, "保持沟通，挖掘需求，提升合作价值", "每月1次产品与行业资讯"),
    ("grade", "potential", None, None, "加大市场推广力度，促进合作达成", "按推广计划"),
    ("depth", "core", None, 3, "专属服务小组；定制化学术支持（病例研讨会、专家会诊）；政策解读；每季度《客户价值服务报告》",
     "每周1篇前沿文献，每月1次政策影响分析"),
    ("depth", "potential", None, None, "“产品价值+发展需求”双沟通，结合扩张规划匹配合作方案（如供应链前置服务）",
     "每两个月1次行业趋势"),
    ("depth", "to_develop", None, None, "学术期刊投放、行业会议展台互动，寄送《疾病领域解决方案手册》", "按市场活动"),
    ("depth", "unknown", None, None, "补充客户品类年采购额，再定合作深度", ""),
    ("size", "large", 30, None, "每月回访一次（种子003 四.1）", ""),
    ("size", "medium", 91, None, "每季度回访一次", ""),
    ("size", "small", 182, None, "每半年回访一次", ""),
]


def forwards(apps, schema_editor):
    from pharmacrm.grading import rules  # the parameter schema and the seeds' defaults

    RuleVersion = apps.get_model("grading", "RuleVersion")
    Strategy = apps.get_model("grading", "Strategy")
    for dimension in rules.SCHEMA:
        RuleVersion.objects.create(dimension=dimension, number=1, effective_from=datetime.date(2000, 1, 1),
                                   parameters=rules.defaults(dimension), status="published",
                                   note="初始版本：种子制度中的默认值")
    for dimension, klass, visit_days, contacts, package, content in STRATEGIES:
        Strategy.objects.create(dimension=dimension, klass=klass, visit_every_days=visit_days,
                                contacts_per_month=contacts, service_package=package, content_cadence=content)


class Migration(migrations.Migration):

    dependencies = [
        ("grading", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
