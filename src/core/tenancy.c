/*-------------------------------------------------------------------------
 *
 * tenancy.c
 *	  Which tenant a session acts as, and token generation.
 *
 *	  The tenant comes from one of two places:
 *	  - the setting vscope.tenant, trusted only when the session user is the
 *		authenticator (vscoped, which sets it per request with
 *		set_config(..., true) after checking a token) or a superuser;
 *	  - on a Citus worker, also when the session is one the coordinator opened
 *		(Citus connects as the current role, so as one of the group roles
 *		vscoped switches to, naming itself "citus_internal gpid=..." in
 *		application_name) and its session user is one of those group roles:
 *		vscoped's SET LOCAL of the setting reaches the shards this way.
 *		What keeps anyone else from opening such a session is pg_hba.conf on
 *		the workers (the group roles may log in only from the coordinator,
 *		with the password only pg_dist_authinfo holds; see README);
 *	  - on a Citus worker, for a session the coordinator opened for a
 *		superuser (or, with vscope.citus_session_tenant_for_roles on, for
 *		one of the group roles) whose tenant setting is empty: the tenant that
 *		vscope.use_tenant() recorded for that coordinator session (its
 *		global process id, which Citus names in application_name) in the
 *		worker's vscope.session_tenants (Citus does not send session-level
 *		settings to the workers, and psql runs statements outside
 *		transaction blocks, where no SET LOCAL reaches them either);
 *	  - otherwise the binding of the session user in vscope.tenant_roles, so a
 *		login role given to a BI tool can never choose another tenant (on
 *		Citus read from the node's shard of that reference table, and in a
 *		session the coordinator opened matched by role name, not OID).
 *	  Row-level security compares every row's tenant_id with this value.  It
 *	  is evaluated often (once per scan, or per row in a filter), so who may
 *	  set it is cached for the rest of the transaction, and the setting's
 *	  value is parsed once, by its assign hook, whenever it changes (vscoped
 *	  changes it inside the transaction).
 *
 *-------------------------------------------------------------------------
 */
#include "core/vscope.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "common/base64.h"
#include "common/int.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#define VS_AUTHENTICATOR_ROLE "vscope_authenticator"
/* what Citus names the sessions it opens on the workers */
#define VS_CITUS_INTERNAL_PREFIX "citus_internal gpid="

static bool IsCitusSessionOfGroupRole(Oid session_user);
static bool CitusSessionGpid(int64 *gpid);
static int32 LookupSessionTenant(bool *isnull);
static bool IsCitusSession(void);

static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static bool cache_trust_guc;
static bool cache_bound_isnull;
static int32 cache_bound;
static bool cache_superuser;
static bool cache_use_session_tenant;	/* may read vscope.session_tenants */
/* the session tenant of a Citus worker session: looked up once a transaction */
static bool cache_session_known;
static bool cache_session_isnull;
static int32 cache_session;

/* vscope.tenant, parsed when set (VsAssignTenantSetting) */
typedef enum
{
	TENANT_SETTING_EMPTY,
	TENANT_SETTING_INT,
	TENANT_SETTING_OTHER		/* parsed at use, for its error */
} TenantSettingState;
static TenantSettingState tenant_setting_state = TENANT_SETTING_EMPTY;
static int32 tenant_setting_value;

static int32 LookupBoundTenant(Oid roleid, bool *isnull);

/*
 * VsCurrentTenant returns the session's tenant, setting *isnull when there
 * is none.
 */
int32
VsCurrentTenant(bool *isnull)
{
	const char *guc;

	if (cache_lxid != MyProc->lxid)
	{
		Oid			session_user = GetSessionUserId();

		bool		group_role = IsCitusSessionOfGroupRole(session_user);

		cache_superuser = superuser_arg(session_user);
		cache_trust_guc = cache_superuser ||
			session_user == get_role_oid(VS_AUTHENTICATOR_ROLE, true) ||
			group_role;
		cache_use_session_tenant = cache_superuser ||
			(group_role && vs_citus_session_tenant_for_roles);
		cache_session_known = false;
		if (!cache_trust_guc)
			cache_bound = LookupBoundTenant(session_user, &cache_bound_isnull);
		cache_lxid = MyProc->lxid;
	}

	if (!cache_trust_guc)
	{
		*isnull = cache_bound_isnull;
		return cache_bound;
	}

	/* the setting as its assign hook left it: no lookup, no parse per call */
	if (tenant_setting_state == TENANT_SETTING_INT)
	{
		*isnull = false;
		return tenant_setting_value;
	}
	if (tenant_setting_state == TENANT_SETTING_EMPTY)
	{
		/* a superuser's session opened by a Citus coordinator */
		if (cache_use_session_tenant)
		{
			if (!cache_session_known)
			{
				cache_session = LookupSessionTenant(&cache_session_isnull);
				cache_session_known = true;
			}
			*isnull = cache_session_isnull;
			return cache_session;
		}
		*isnull = true;
		return 0;
	}
	/* not a number: parse it here, for the error */
	guc = GetConfigOption("vscope.tenant", true, false);
	if (guc == NULL || guc[0] == '\0')
	{
		*isnull = true;
		return 0;
	}
	*isnull = false;
	return pg_strtoint32(guc);
}

/*
 * IsCitusSessionOfGroupRole says whether this backend is a session a Citus
 * coordinator opened on this node for one of vscope's group roles: Citus is
 * loaded, the session names itself as Citus does, and its session user is
 * vscope_reader, vscope_writer, vscope_admin or vscope_superadmin (which no
 * client logs in as: pg_hba.conf admits them only from the coordinator).
 */
static bool
IsCitusSessionOfGroupRole(Oid session_user)
{
	static const char *const group_roles[] = {
		"vscope_reader", "vscope_writer", "vscope_admin", "vscope_superadmin"
	};
	bool		group_role = false;

	for (size_t i = 0; i < lengthof(group_roles); i++)
	{
		if (session_user == get_role_oid(group_roles[i], true))
			group_role = true;
	}
	return group_role && IsCitusSession();
}

/*
 * IsCitusSession says whether this backend names itself as the sessions a
 * Citus coordinator opens on a node do, with Citus in the database.
 */
static bool
IsCitusSession(void)
{
	int64		gpid;

	return CitusSessionGpid(&gpid);
}

/*
 * CitusSessionGpid says whether this session is one a Citus coordinator
 * opened ("citus_internal gpid=N" in application_name, Citus loaded), and
 * sets *gpid to the global process id of the session it works for.
 */
static bool
CitusSessionGpid(int64 *gpid)
{
	const char *appname = GetConfigOption("application_name", true, false);
	const char *digits;
	char	   *end;
	long long	v;

	if (appname == NULL ||
		strncmp(appname, VS_CITUS_INTERNAL_PREFIX, strlen(VS_CITUS_INTERNAL_PREFIX)) != 0)
		return false;
	digits = appname + strlen(VS_CITUS_INTERNAL_PREFIX);
	if (*digits < '0' || *digits > '9')
		return false;
	errno = 0;
	v = strtoll(digits, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	*gpid = (int64) v;
	return true;
}

/*
 * LookupSessionTenant reads the tenant that vscope.use_tenant() recorded on
 * this node for the coordinator session this one works for (see
 * CitusSessionGpid), from vscope.session_tenants: a plain local table on
 * each node, scanned directly (superusers' sessions call this, and the
 * group roles' with vscope.citus_session_tenant_for_roles on).  A row is
 * left behind when its session ends (the next use_tenant() on that node
 * drops it): a later session with the same process id would find it,
 * which is why group roles, as which vscoped works, do not look by default.
 */
static int32
LookupSessionTenant(bool *isnull)
{
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	int64		gpid;
	int32		result = 0;

	*isnull = true;
	if (!CitusSessionGpid(&gpid))
		return 0;
	nsp = get_namespace_oid("vscope", true);
	if (!OidIsValid(nsp))
		return 0;
	relid = get_relname_relid("session_tenants", nsp);
	if (!OidIsValid(relid))
		return 0;

	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		n1,
					n2;
		Datum		g = heap_getattr(tup, 1, RelationGetDescr(rel), &n1);
		Datum		tenant = heap_getattr(tup, 2, RelationGetDescr(rel), &n2);

		if (!n1 && !n2 && DatumGetInt64(g) == gpid)
		{
			result = DatumGetInt32(tenant);
			*isnull = false;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * VsAssignTenantSetting keeps the parsed value of vscope.tenant (its assign
 * hook): row-level security asks for the tenant once per row in filters, and
 * parsing the setting each time was a measurable part of every scan.
 */
void
VsAssignTenantSetting(const char *newval, void *extra)
{
	int32		v = 0;
	const char *p = newval;
	bool		neg = false;
	bool		ok = true;
	int			digits = 0;

	if (newval == NULL || newval[0] == '\0')
	{
		tenant_setting_state = TENANT_SETTING_EMPTY;
		return;
	}
	if (*p == '-')
	{
		neg = true;
		p++;
	}
	for (; *p; p++)
	{
		int			d = *p - '0';

		if (d < 0 || d > 9 || digits >= 10)
		{
			ok = false;
			break;
		}
		if (pg_mul_s32_overflow(v, 10, &v) ||
			(neg ? pg_sub_s32_overflow(v, d, &v) : pg_add_s32_overflow(v, d, &v)))
		{
			ok = false;
			break;
		}
		digits++;
	}
	if (!ok || digits == 0)
	{
		tenant_setting_state = TENANT_SETTING_OTHER;
		return;
	}
	tenant_setting_value = v;
	tenant_setting_state = TENANT_SETTING_INT;
}

/*
 * VsRequireTenant returns the session's tenant or raises an error.
 */
int32
VsRequireTenant(void)
{
	bool		isnull;
	int32		tenant = VsCurrentTenant(&isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_VS_NO_TENANT),
				 errmsg("no tenant selected"),
				 errdetail("Writes and reads act for one tenant, and this session has none."),
				 errhint("As a superuser, call vscope.use_tenant('name'); bind other login roles with vscope.grant_tenant_access().")));
	return tenant;
}

/*
 * BindingsRelation returns the relation that holds this node's rows of
 * vscope.tenant_roles (relid): the table itself, or, where Citus made it a
 * reference table, its shard on this node (vscope.tenant_roles_<shardid>;
 * the table is then an empty shell).  InvalidOid when Citus lists shards of
 * it and none is on this node (the coordinator not added to the cluster
 * with citus_set_coordinator_host()): no binding is found, so a bound role
 * sees nothing rather than more.
 */
static Oid
BindingsRelation(Oid nsp, Oid relid, Snapshot snap)
{
	Oid			shards;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	AttrNumber	att_rel;
	AttrNumber	att_shard;
	bool		distributed = false;
	Oid			result = InvalidOid;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return relid;
	shards = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(shards))
		return relid;
	att_rel = get_attnum(shards, "logicalrelid");
	att_shard = get_attnum(shards, "shardid");
	if (att_rel == InvalidAttrNumber || att_shard == InvalidAttrNumber)
		return relid;

	rel = table_open(shards, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (!OidIsValid(result) && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		n1,
					n2;
		Datum		logical = heap_getattr(tup, att_rel, RelationGetDescr(rel), &n1);
		Datum		shardid = heap_getattr(tup, att_shard, RelationGetDescr(rel), &n2);
		char	   *shardname;

		if (n1 || n2 || DatumGetObjectId(logical) != relid)
			continue;
		distributed = true;
		shardname = psprintf("tenant_roles_" INT64_FORMAT, DatumGetInt64(shardid));
		result = get_relname_relid(shardname, nsp);
		pfree(shardname);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return distributed ? result : relid;
}

/*
 * LookupBoundTenant reads the tenant bound to a login role.  It scans the
 * table directly (it is tiny), so neither the caller's privileges nor the
 * table's own row-level security get in the way.  A binding names the role
 * by OID; in a session a Citus coordinator opened on this node (a worker,
 * where the role has another OID than on the coordinator that bound it) by
 * its name (role_name, since 0.2.1).
 */
static int32
LookupBoundTenant(Oid roleid, bool *isnull)
{
	Oid			nsp = get_namespace_oid("vscope", true);
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	AttrNumber	att_tenant;
	AttrNumber	att_role;
	AttrNumber	att_name;
	const char *rolename = NULL;
	int32		result = 0;

	*isnull = true;
	if (!OidIsValid(nsp))
		return 0;
	relid = get_relname_relid("tenant_roles", nsp);
	if (!OidIsValid(relid))
		return 0;

	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	relid = BindingsRelation(nsp, relid, snap);
	if (!OidIsValid(relid))
		return 0;
	att_tenant = get_attnum(relid, "tenant_id");
	att_role = get_attnum(relid, "role_id");
	att_name = get_attnum(relid, "role_name");
	if (att_tenant == InvalidAttrNumber || att_role == InvalidAttrNumber)
		return 0;
	if (att_name != InvalidAttrNumber && IsCitusSession())
		rolename = GetUserNameFromId(roleid, true);

	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		n1,
					n2,
					n3;
		Datum		tenant = heap_getattr(tup, att_tenant, RelationGetDescr(rel), &n1);
		Datum		role = heap_getattr(tup, att_role, RelationGetDescr(rel), &n2);

		if (n1 || n2)
			continue;
		if (DatumGetObjectId(role) != roleid)
		{
			Datum		name;

			if (rolename == NULL)
				continue;
			name = heap_getattr(tup, att_name, RelationGetDescr(rel), &n3);
			if (n3 || strcmp(NameStr(*DatumGetName(name)), rolename) != 0)
				continue;
		}
		result = DatumGetInt32(tenant);
		*isnull = false;
		break;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

VS_FUNCTION_INFO_V1(vscope_current_tenant);

/*
 * vscope_current_tenant is vscope.current_tenant(), the key of every policy.
 */
Datum
vscope_current_tenant(PG_FUNCTION_ARGS)
{
	bool		isnull;
	int32		tenant = VsCurrentTenant(&isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT32(tenant);
}

VS_FUNCTION_INFO_V1(vscope_random_token);

/*
 * vscope_random_token returns "vst_" and 256 random bits in URL-safe base64,
 * usable as the password of a URL (https://read:TOKEN@host/).
 */
Datum
vscope_random_token(PG_FUNCTION_ARGS)
{
	uint8		raw[32];
	char		enc[64];
	int			len;
	StringInfoData buf;

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random token")));
	len = pg_b64_encode((const char *) raw, sizeof(raw), enc, sizeof(enc));
	if (len < 0)
		elog(ERROR, "could not encode a random token");

	initStringInfo(&buf);
	appendStringInfoString(&buf, "vst_");
	for (int i = 0; i < len; i++)
	{
		char		c = enc[i];

		if (c == '=')
			break;
		appendStringInfoChar(&buf, c == '+' ? '-' : c == '/' ? '_' : c);
	}
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
