import ArgumentParser
import GRDB
import TOMLKit
import Crypto
import Logging
@main struct Main { static func main() {} }
