/**
 * The `Link` header of a paginated answer (RFC 8288, as seed 001 shows it): rel="prev" and
 * rel="next" as absolute-path URLs that keep every other query parameter of the request.
 */
import type { Pagination } from '../../domain/pagination.ts';

export function paginationLinks(requestUrl: string, pagination: Pagination): string | undefined {
  const url = new URL(requestUrl);
  // A credential is never echoed (HTTP routes refuse it anyway, but the parameter may be sent beside a header).
  url.searchParams.delete('access_token');
  const pageUrl = (page: number) => {
    url.searchParams.set('page', String(page));
    return `<${url.pathname}?${url.searchParams.toString()}>`;
  };
  const links: string[] = [];
  // A page past the end points back to the last one rather than to another empty page.
  if (pagination.hasPrevPage) links.push(`${pageUrl(Math.min(pagination.page - 1, Math.max(pagination.totalPages, 1)))}; rel="prev"`);
  if (pagination.hasNextPage) links.push(`${pageUrl(pagination.page + 1)}; rel="next"`);
  return links.length > 0 ? links.join(', ') : undefined;
}
