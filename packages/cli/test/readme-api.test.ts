import { describeReadmeApi } from '../../../test/readme-api.js'

describeReadmeApi(new URL('../', import.meta.url), 30)
