import Foundation
import Store
import XMPP

/// Between what the Store keeps and what a login needs.
///
/// SCRAM keys are kept whenever the server used SCRAM; the password is kept only when the
/// user asked (`--remember`) and there were no keys to keep.
enum Credentials {
    static func loginCredential(from stored: Credential) -> LoginCredential? {
        switch stored.kind {
        case .scram:
            guard let mechanism = stored.mechanism, let hash = HashAlgorithm(rawValue: mechanism),
                let salt = stored.salt, let iterations = stored.iterations,
                let clientKey = stored.clientKey, let serverKey = stored.serverKey
            else { return nil }
            return .scramKeys(
                SCRAMKeys(salt: Array(salt), iterations: iterations, clientKey: Array(clientKey), serverKey: Array(serverKey)),
                hash: hash)
        case .password:
            return stored.password.map(LoginCredential.password)
        }
    }

    /// What to store after a login that used `password`.
    static func toStore(after session: StreamNegotiator.Session, accountID: Int64, password: String, remember: Bool) -> Credential? {
        if let keys = session.derivedKeys, let hash = session.keysHash {
            return .scram(
                accountID: accountID, mechanism: hash.rawValue, salt: Data(keys.salt), iterations: keys.iterations,
                clientKey: Data(keys.clientKey), serverKey: Data(keys.serverKey))
        }
        return remember ? .rememberedPassword(accountID: accountID, password) : nil
    }
}
