import Testing

@testable import LedgerConfig

@Suite struct KeyLinesTests {
    @Test func findsKeysInTheirTables() {
        let lines = KeyLines(
            scanning: """
                # [watch] in a comment is not a header
                top = 1

                [company]
                name = "A" # trailing comment
                  org_number   =   "987654325"
                [ accounts . suppliers ]
                "923456783" = "6300"
                'literal.key' = "6301"
                [watch]
                settle = "1s"
                """)
        #expect(lines.lines[["top"]] == 2)
        #expect(lines.lines[["company"]] == 4)
        #expect(lines.lines[["company", "name"]] == 5)
        #expect(lines.lines[["company", "org_number"]] == 6)
        #expect(lines.lines[["accounts"]] == 7)
        #expect(lines.lines[["accounts", "suppliers"]] == 7)
        #expect(lines.lines[["accounts", "suppliers", "923456783"]] == 8)
        #expect(lines.lines[["accounts", "suppliers", "literal.key"]] == 9)
        #expect(lines.lines[["watch"]] == 10)
        #expect(lines.lines[["watch", "settle"]] == 11)
        #expect(lines.lines.count == 10)
    }

    @Test func dottedKeysAndInlineTables() {
        let lines = KeyLines(
            scanning: """
                company.name = "A"
                [accounts]
                output_vat = { "25" = "2700", "12.5" = "2703", nested = { deep = 1 } }
                input_vat.25 = "2710"
                "quoted \\"key\\"".x = 1
                """)
        #expect(lines.lines[["company"]] == 1)
        #expect(lines.lines[["company", "name"]] == 1)
        #expect(lines.lines[["accounts", "output_vat", "25"]] == 3)
        #expect(lines.lines[["accounts", "output_vat", "12.5"]] == 3)
        #expect(lines.lines[["accounts", "output_vat", "nested", "deep"]] == 3)
        #expect(lines.lines[["accounts", "input_vat", "25"]] == 4)
        #expect(lines.lines[["accounts", "quoted \"key\"", "x"]] == 5)
    }

    @Test func stringsAndArraysHideWhatLooksLikeKeys() {
        let lines = KeyLines(
            scanning: #"""
                a = """
                fake = 1
                [fake]
                """
                b = '''
                also_fake = 2 '''
                c = [
                  "x", # not = a key
                  'y',
                  { z = 1 },
                  [1, 2],
                ]
                d = "# not a comment" # [nor a header]
                e = 1979-05-27 07:32:00Z
                f = """quote "" inside"""" 
                g = 'C:\path'
                h = "escaped \" quote = 3"
                [[array.of.tables]]
                i = 1
                """#)
        #expect(lines.lines[["a"]] == 1)
        #expect(lines.lines[["fake"]] == nil)
        #expect(lines.lines[["b"]] == 5)
        #expect(lines.lines[["also_fake"]] == nil)
        #expect(lines.lines[["c"]] == 7)
        #expect(lines.lines[["c", "z"]] == 10)
        #expect(lines.lines[["d"]] == 13)
        #expect(lines.lines[["e"]] == 14)
        #expect(lines.lines[["f"]] == 15)
        #expect(lines.lines[["g"]] == 16)
        #expect(lines.lines[["h"]] == 17)
        #expect(lines.lines[["array", "of", "tables"]] == 18)
        #expect(lines.lines[["array", "of", "tables", "i"]] == 19)
        #expect(lines.lines.count == 13)
    }

    @Test func unknownPathsFallBackToTheirNearestAncestor() {
        let lines = KeyLines(scanning: "\n[watch]\nignore = [\n  \"*.part\",\n]\n")
        #expect(lines.line(of: ["watch", "ignore"]) == 3)
        #expect(lines.line(of: ["watch", "ignore", "0"]) == 3)
        #expect(lines.line(of: ["nowhere"]) == nil)
        #expect(lines.line(of: []) == nil)
    }

    @Test func windowsLineEndingsAndABOMCountLikeNewlines() {
        let lines = KeyLines(scanning: "[company]\r\nname = \"A\"\r\n\r\n[watch]\r\nmode = \"poll\"\r\n")
        #expect(lines.lines[["company", "name"]] == 2)
        #expect(lines.lines[["watch", "mode"]] == 5)
    }

    @Test(arguments: [
        "", "[", "[[", "]", "=", "= = =", "\"", "'''", "a = {", "a = [", "a = [[[[", "a.b.", "\\", "a = \"\\u12",
        "{ x = 1 }", "[a\nb = 1", "a = \"\"\"\n\n", "\u{0}", "a = { b = [ { c = ",
    ])
    func garbageNeverHangsOrCrashes(_ text: String) {
        _ = KeyLines(scanning: text)
        _ = KeyLines(scanning: text + "\nx = 1\n" + text)
    }
}
