/** The `customer.id` of a compliance payload, when it is a customer id. */
export function customerId(payload: Record<string, unknown>): string | undefined {
  const id = (payload.customer as { id?: unknown } | undefined)?.id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return String(id);
  if (typeof id === 'string' && /^[0-9]{1,20}$/.test(id)) return id;
  return undefined;
}
