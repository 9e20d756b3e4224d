// bencode 4 ships no types. Only what bttls calls is declared.
declare module 'bencode' {
  export type BencodeValue = number | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue }
  export function encode (value: unknown): Uint8Array
  export function decode (data: Uint8Array, start?: number, end?: number): any
  export namespace encode { let bytes: number }
  export namespace decode { let position: number }
  const bencode: { encode: typeof encode, decode: typeof decode, byteLength (value: unknown): number }
  export default bencode
}
