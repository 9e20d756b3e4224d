// better-sqlite3 ships no types. Only what bttls calls (src/tracker/server/db.ts) is declared.
declare module 'better-sqlite3' {
  namespace Database {
    interface RunResult { changes: number, lastInsertRowid: number | bigint }
    interface Statement<Row = unknown> {
      run (...params: unknown[]): RunResult
      get (...params: unknown[]): Row | undefined
      all (...params: unknown[]): Row[]
    }
    interface Options {
      readonly?: boolean
      fileMustExist?: boolean
      timeout?: number
    }
    interface Database {
      readonly open: boolean
      readonly name: string
      prepare<Row = unknown> (sql: string): Statement<Row>
      exec (sql: string): this
      pragma (source: string, options?: { simple?: boolean }): unknown
      transaction<F extends (...args: any[]) => any> (fn: F): F
      close (): this
    }
  }
  const Database: new (filename: string, options?: Database.Options) => Database.Database
  export = Database
}
