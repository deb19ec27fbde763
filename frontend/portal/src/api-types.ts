// What every portal call sends and gets, read from the API's generated OpenAPI types
// (@tapwork/shared schema.d.ts, `npm run gen:api`): a call names a method and a path, and its
// body and answer types follow from them. A renamed field or endpoint fails `tsc`, not the
// browser. Nothing here exists at run time.
import type { components, paths } from "@tapwork/shared";

export type Schemas = components["schemas"];
type PathKey = keyof paths & string;
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

// `/api/v1/users/{user_id}` is called as `/users/${id}`: the portal's path of each OpenAPI key.
type Stripped<K> = K extends `/api/v1${infer Rest}` ? Rest : never;
type Template<S extends string> = S extends `${infer Head}{${string}}${infer Tail}` ? `${Head}${string}${Template<Tail>}` : S;
type Shape<K extends PathKey> = Template<Stripped<K>>;
/** Every path the portal may call, in the form it writes it. */
export type ApiPath = { [K in PathKey]: Shape<K> }[PathKey];

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The OpenAPI key a written path stands for: `/users/me` is `/users/me`, not `/users/{user_id}`. */
export type KeyFor<P extends string> = P extends string ? { [K in PathKey]: Same<P, Shape<K>> extends true ? K : never }[PathKey] : never;

/** The operation behind `METHOD path` (never when the API has no such operation). */
export type Op<P extends string, M extends Method> =
  KeyFor<P> extends infer K ? (K extends PathKey ? (Lowercase<M> extends keyof paths[K] ? NonNullable<paths[K][Lowercase<M>]> : never) : never) : never;

/** The methods the API offers on a path. */
export type MethodOf<P extends string> = { [M in Method]: [Op<P, M>] extends [never] ? never : M }[Method];

type Json<R> = R extends { content: { "application/json": infer J } } ? J : never;
type Responses<O> = O extends { responses: infer R } ? R : never;
type Ok<R> = Json<R[Extract<keyof R, 200 | 201 | 202>]> | (204 extends keyof R ? undefined : never);
/** The JSON a successful call answers (`undefined` for 204). */
export type Answer<O> = O extends unknown ? Ok<Responses<O>> : never;

/** The JSON body an operation takes, if any. */
export type Body<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type BodyRequired<O> = O extends { requestBody: { content: { "application/json": unknown } } } ? true : false;

export type Query = Record<string, string | number | boolean | null | undefined>;
export interface BaseOptions {
  query?: Query;
  /** Raw body (CSV upload) sent as-is with this content type. */
  raw?: { data: BodyInit; type: string };
  /** Skip the Authorization header and the refresh (sign-in pages). */
  anonymous?: boolean;
}
type BodyOption<O> = [O] extends [{ requestBody?: never }] ? { body?: never } : BodyRequired<O> extends true ? { body: Body<O> } : { body?: Body<O> };
export type CallOptions<O> = BaseOptions & BodyOption<O>;
/** A call's options: required when the operation requires a JSON body. */
export type CallArgs<O> = O extends unknown ? (BodyRequired<O> extends true ? [options: CallOptions<O>] : [options?: CallOptions<O>]) : never;

/** The rows of a paginated list answer ({items, total}). */
export type Row<P extends string> = Answer<Op<P, "GET">> extends { items: (infer I)[] } ? I : never;
/** The paths whose GET answers a page of rows. */
export type ListPath = ApiPath extends infer P
  ? P extends ApiPath
    ? Answer<Op<P, "GET">> extends { items: unknown[]; total: number }
      ? P
      : never
    : never
  : never;
