"""Strings the user reads: Chinese first, English second, from one table."""

from geo import vocab
from layers.access import ROLE_PERMISSIONS

__all__ = ["STRINGS", "t", "both", "level_name", "role_label"]

STRINGS = {
    "app_title": ("综治网格地图", "Grid governance map"),
    "households": ("住户", "Households"),
    "cameras": ("视频监控", "Cameras"),
    "grid_chain": ("网格归属", "Grid chain"),
    "staff": ("网格力量", "Grid staff"),
    "cameras_seeing": ("可视摄像头", "Cameras seeing this spot"),
    "outside": ("此处不在任何网格内", "This spot lies outside every grid"),
    "loading": ("查询中…", "Looking up…"),
    "failed": ("查询失败", "Lookup failed"),
    "none": ("无", "none"),
    "name": ("名称", "Name"),
    "code": ("编码", "Code"),
    "household_count": ("户数", "Households"),
    "metres": ("米", "m"),
    "nav_map": ("地图", "Map"),
    "nav_plan": ("网格规划", "Grid planning"),
    "nav_audit": ("审计日志", "Audit log"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "wrong_login": ("用户名或密码错误", "Wrong user name or password"),
    "throttled": ("登录失败次数过多，请15分钟后再试",
                  "Too many failed logins: try again in 15 minutes"),
    "forbidden": ("无权访问", "Not allowed"),
    "forbidden_text": ("您的角色无权访问此页面。", "Your role may not open this page."),
    "plan_title": ("网格规划", "Grid planning"),
    "plan_text": ("网格编辑器正在建设中：绘制、拆分、合并网格及其预览。",
                  "The grid editor (draw, split, merge, preview) is being built."),
    "audit_title": ("审计日志", "Audit log"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "all"),
    "time": ("时间", "Time"),
    "user": ("用户", "User"),
    "action": ("操作", "Action"),
    "table": ("对象", "Table"),
    "key": ("编号", "Key"),
    "change": ("变更", "Change"),
    "since": ("起", "From"),
    "nav_users": ("用户管理", "Users"),
    "users_title": ("用户与令牌", "Users and API tokens"),
    "role": ("角色", "Role"),
    "jurisdiction": ("管辖网格", "Jurisdiction"),
    "everywhere": ("全域", "everywhere"),
    "last_login": ("最近登录", "Last login"),
    "state": ("状态", "State"),
    "active": ("启用", "active"),
    "disabled": ("已停用", "disabled"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "new_password": ("新密码", "new password"),
    "set_password": ("设置密码", "Set password"),
    "token_label": ("令牌用途", "Token label"),
    "new_token": ("生成令牌", "New token"),
    "tokens": ("接口令牌", "API tokens"),
    "last_used": ("最近使用", "Last used"),
    "revoke": ("吊销", "Revoke"),
    "new_user": ("新建用户", "New user"),
    "create": ("创建", "Create"),
    "user_created": ("用户已创建", "User created"),
    "user_updated": ("用户已更新", "User updated"),
    "token_created": ("新令牌（仅显示一次，请妥善保存）", "New token (shown once)"),
    "token_revoked": ("令牌已吊销", "Token revoked"),
    "until": ("止", "To"),
}


def t(key, lang="zh"):
    """One string in ``lang`` ("zh" or "en")."""
    zh, en = STRINGS[key]
    return zh if lang == "zh" else en


def both(key):
    """Chinese and English together, for labels that must read in either."""
    zh, en = STRINGS[key]
    return f"{zh} {en}"


def level_name(level):
    """The bilingual name of a grid level, e.g. '四级网格（微网格） Level 4 …'."""
    zh, en = vocab.GRID_LEVELS[level]
    return f"{zh} {en}"


def role_label(role):
    """The Chinese name of a user role, e.g. '网格规划员'."""
    return ROLE_PERMISSIONS[role][0]
